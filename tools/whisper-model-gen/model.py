"""Whisper's architecture in PyTorch (the reference implementation the ONNX export is traced from).

Encoder: conv1d + GELU, strided conv1d + GELU, sinusoidal positions, pre-LN self-attention blocks, final LN.
Decoder: token embedding + learned positions, pre-LN blocks (causal self-attention, cross-attention, MLP),
final LN, logits through the tied token embedding. Key/value tensors are laid out [batch, heads, seq, head_dim],
the layout of the onnx-community `past_key_values.*` / `present.*` tensors.
"""

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Dims:
    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int

    def as_dict(self) -> dict:
        return asdict(self)


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float64))
    scaled = torch.arange(length, dtype=torch.float64)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1).float()


class Attention(nn.Module):
    def __init__(self, n_state: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.query = nn.Linear(n_state, n_state)
        self.key = nn.Linear(n_state, n_state, bias=False)
        self.value = nn.Linear(n_state, n_state)
        self.out = nn.Linear(n_state, n_state)

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.n_head, -1).transpose(1, 2)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.attend_with_weights(q, k, v, mask)[0]

    def attend_with_weights(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Output, attention weights (after softmax) and the scores before it ("QK", what openai-whisper hooks)."""
        scale = q.shape[-1] ** -0.25
        qk = (q * scale) @ (k * scale).transpose(-1, -2)
        if mask is not None:
            qk = qk + mask
        weights = F.softmax(qk, dim=-1)
        return self.out((weights @ v).transpose(1, 2).flatten(2)), weights, qk


class Block(nn.Module):
    def __init__(self, n_state: int, n_head: int, cross_attention: bool):
        super().__init__()
        self.attn = Attention(n_state, n_head)
        self.attn_ln = nn.LayerNorm(n_state)
        self.cross_attn = Attention(n_state, n_head) if cross_attention else None
        self.cross_attn_ln = nn.LayerNorm(n_state) if cross_attention else None
        self.mlp = nn.Sequential(nn.Linear(n_state, 4 * n_state), nn.GELU(), nn.Linear(4 * n_state, n_state))
        self.mlp_ln = nn.LayerNorm(n_state)


class AudioEncoder(nn.Module):
    def __init__(self, d: Dims):
        super().__init__()
        self.conv1 = nn.Conv1d(d.n_mels, d.n_audio_state, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d.n_audio_state, d.n_audio_state, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(d.n_audio_ctx, d.n_audio_state))
        self.blocks = nn.ModuleList(Block(d.n_audio_state, d.n_audio_head, False) for _ in range(d.n_audio_layer))
        self.ln_post = nn.LayerNorm(d.n_audio_state)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).permute(0, 2, 1)
        x = x + self.positional_embedding
        for block in self.blocks:
            h = block.attn_ln(x)
            a = block.attn
            x = x + a.attend(a.heads(a.query(h)), a.heads(a.key(h)), a.heads(a.value(h)), None)
            x = x + block.mlp(block.mlp_ln(x))
        return self.ln_post(x)


KV = tuple[torch.Tensor, torch.Tensor]


class TextDecoder(nn.Module):
    def __init__(self, d: Dims):
        super().__init__()
        self.token_embedding = nn.Embedding(d.n_vocab, d.n_text_state)
        self.positional_embedding = nn.Parameter(torch.empty(d.n_text_ctx, d.n_text_state))
        self.blocks = nn.ModuleList(Block(d.n_text_state, d.n_text_head, True) for _ in range(d.n_text_layer))
        self.ln = nn.LayerNorm(d.n_text_state)
        self.register_buffer("mask", torch.full((d.n_text_ctx, d.n_text_ctx), float("-inf")).triu(1))

    def forward(
        self,
        tokens: torch.Tensor,
        audio: torch.Tensor | None,
        self_past: list[KV] | None = None,
        cross_kv: list[KV] | None = None,
    ) -> tuple[torch.Tensor, list[KV], list[KV], list[torch.Tensor], list[torch.Tensor]]:
        """Returns logits, the self-attention K/V (past + new) and the cross-attention K/V of each layer, and the
        cross-attention weights [batch, heads, tokens, frames] of each layer, after and before the softmax."""
        offset = self_past[0][0].shape[2] if self_past is not None else 0
        length = tokens.shape[1]
        x = self.token_embedding(tokens) + self.positional_embedding[offset : offset + length]
        mask = self.mask[offset : offset + length, : offset + length]
        presents_self: list[KV] = []
        presents_cross: list[KV] = []
        cross_weights: list[torch.Tensor] = []
        cross_qk: list[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            a = block.attn
            h = block.attn_ln(x)
            k, v = a.heads(a.key(h)), a.heads(a.value(h))
            if self_past is not None:
                k = torch.cat([self_past[i][0], k], dim=2)
                v = torch.cat([self_past[i][1], v], dim=2)
            presents_self.append((k, v))
            x = x + a.attend(a.heads(a.query(h)), k, v, mask)

            c = block.cross_attn
            h = block.cross_attn_ln(x)
            if cross_kv is not None:
                ck, cv = cross_kv[i]
            else:
                ck, cv = c.heads(c.key(audio)), c.heads(c.value(audio))
            presents_cross.append((ck, cv))
            out, weights, qk = c.attend_with_weights(c.heads(c.query(h)), ck, cv, None)
            cross_weights.append(weights)
            cross_qk.append(qk)
            x = x + out
            x = x + block.mlp(block.mlp_ln(x))
        x = self.ln(x)
        logits = x @ self.token_embedding.weight.T
        return logits, presents_self, presents_cross, cross_weights, cross_qk


class Whisper(nn.Module):
    def __init__(self, d: Dims):
        super().__init__()
        if d.n_audio_state != d.n_text_state:
            raise ValueError("n_audio_state must equal n_text_state (cross-attention reads encoder states directly)")
        self.dims = d
        self.encoder = AudioEncoder(d)
        self.decoder = TextDecoder(d)


def randomize(model: Whisper, seed: int, eot: int, no_speech: int) -> None:
    """Seeded random weights shaped so that greedy decoding of a random model is a meaningful test.

    Real Whisper's init (std 0.02) gives near-uniform logits and a random model with tied embeddings
    tends to repeat its input token forever. So: token embedding rows share one norm (no "hub" tokens),
    the MLP output projections are centred (GELU's positive mean would add one fixed direction to every
    position), decoder positions and cross-attention outputs are strong (sequences vary with position
    and with the audio), later positions lean towards EOT so that some decodes end by themselves, and
    the <|startoftranscript|> position leans towards <|nocaptions|> so the no-speech probability is not ~0.
    """
    g = torch.Generator().manual_seed(seed)
    d = model.dims
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf_module = name.split(".")[-2]
            if name.endswith("weight") and "ln" in leaf_module:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif name.endswith("positional_embedding"):
                p.copy_(4.0 * torch.randn(p.shape, generator=g))
            elif name.endswith("token_embedding.weight"):
                rows = torch.randn(p.shape, generator=g)
                p.copy_(rows / rows.norm(dim=1, keepdim=True) * 0.5 * math.sqrt(d.n_text_state))
            else:
                fan_in = p.shape[1] * (p.shape[2] if p.dim() == 3 else 1)
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
                if name.endswith("mlp.2.weight"):
                    p -= p.mean(dim=1, keepdim=True)
                if name.startswith("decoder.") and name.endswith("cross_attn.out.weight"):
                    p *= 4.0
        eot_direction = model.decoder.token_embedding.weight[eot] / model.decoder.token_embedding.weight[eot].norm()
        ramp = torch.clamp((torch.arange(d.n_text_ctx, dtype=torch.float32) - 12.0) / 8.0, min=0.0)
        model.decoder.positional_embedding += EOT_LEAN * ramp[:, None] * eot_direction[None, :]
        emb = model.decoder.token_embedding.weight
        model.decoder.positional_embedding[0] += NO_SPEECH_LEAN * emb[no_speech] / emb[no_speech].norm()
        model.decoder.ln.weight *= 3.0  # sharper logits: confident, well-separated top-1 choices


EOT_LEAN = 7.0
NO_SPEECH_LEAN = 8.0
