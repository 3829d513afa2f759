"""A scripted Whisper model: the onnx-community `_timestamped` layout and the test tokenizer, but its decoder says a
given sentence instead of recognising anything. A test fixture for tests that need real words end to end (search,
exports, word highlighting); it recognises nothing and must never stand in for a model.

Which sentence: the audio's speech duration picks it. A frame is speech when its loudest mel bin is within 30 dB of
the window's loudest frame; with `n` speech seconds (encoder frames / 50), script min(floor(n / bucket), last) is
said. So an utterance of 0.5 s says script 0, one of 1.5 s script 1, and so on (bucket 1 s).

How (all traced to ONNX, no weights to train):
- encoder: last_hidden_state[0, k, 0] (and the same channel of every head) is 1 for a speech frame k, else 0;
- decoder self-attention K of each position: [is text token, is generated (text or timestamp), is <|notimestamps|>];
  their sums over the sequence so far (the KV cache carries them) give the next token: entry `generated` of the
  script with or without timestamps (<|0.00|> text <|end|>, end = the last speech frame), then <|endoftext|>;
- cross-attention weights (every layer and head, so any alignment heads work): token row c (c text tokens so far)
  peaks at speech frame first + (c + 0.5) / (n + 1) * span, so DTW spreads the words over the speech (DTW starts
  its path at frame 0, so the first word starts with the audio).
"""

import torch
from torch import nn

from model import Dims

FRAMES_PER_SECOND = 50
LOGIT = 30.0


class ScriptedEncoder(nn.Module):
    def __init__(self, d: Dims):
        super().__init__()
        self.d = d

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        level = mel.max(dim=1).values  # [b, 3000]: each frame's loudest bin
        loud = (level >= level.max(dim=1, keepdim=True).values - 0.75).float()  # 0.75 normalised = 30 dB
        loud = torch.maximum(loud[:, 0::2], loud[:, 1::2])  # [b, 1500]
        head_dim = self.d.n_text_state // self.d.n_text_head
        channel = torch.zeros(1, 1, self.d.n_text_state)
        channel[0, 0, 0::head_dim] = 1.0
        return loud[:, :, None] * channel


class ScriptedDecoder(nn.Module):
    def __init__(self, d: Dims, plain: torch.Tensor, timed: torch.Tensor, lengths: torch.Tensor, eot: int,
                 timestamp_begin: int, no_timestamps: int, timestamp_step: float, bucket_seconds: float):
        super().__init__()
        self.d = d
        self.register_buffer("plain", plain)  # [scripts, slots] token ids, <|endoftext|> after the text
        self.register_buffer("timed", timed)  # the same with <|0.00|> first and -1 for the closing timestamp
        self.register_buffer("lengths", lengths)  # [scripts] text tokens
        self.eot = eot
        self.tb = timestamp_begin
        self.no_timestamps = no_timestamps
        self.step_frames = timestamp_step * FRAMES_PER_SECOND
        self.bucket_frames = bucket_seconds * FRAMES_PER_SECOND
        self.last_timestamp = round(30.0 / timestamp_step)

    def forward(self, tokens, audio, self_past=None, cross_kv=None):
        d = self.d
        heads, head_dim = d.n_text_head, d.n_text_state // d.n_text_head
        b, length = tokens.shape
        flags = torch.stack([tokens < self.eot, (tokens < self.eot) | (tokens >= self.tb),
                             tokens == self.no_timestamps], dim=-1).float()  # [b, L, 3]
        k_new = torch.zeros(b, length, head_dim)
        k_new = torch.cat([flags, k_new[:, :, 3:]], dim=-1)[:, None].expand(b, heads, length, head_dim)
        if self_past is not None:
            k = torch.cat([self_past[0][0], k_new], dim=2)
        else:
            k = k_new
        v = torch.zeros_like(k)
        past_length = k.shape[2] - length
        counts = k[:, 0].cumsum(dim=1)[:, past_length:]  # [b, L, head_dim]: sums up to each new position
        text_count, generated, plain_mode = counts[..., 0], counts[..., 1], counts[..., 2] > 0

        if cross_kv is not None:
            ck, cv = cross_kv[0]
        else:
            ck = audio.view(b, audio.shape[1], heads, head_dim).transpose(1, 2)
            cv = ck
        loud = ck[:, 0, :, 0]  # [b, 1500]
        frames = torch.arange(loud.shape[1], dtype=torch.float32)
        n = loud.sum(dim=1)  # [b]
        script = torch.clamp(torch.div(n, self.bucket_frames, rounding_mode="floor"), 0,
                             self.plain.shape[0] - 1).long()
        first = torch.where(loud > 0, frames, torch.full_like(frames, 1e9)).min(dim=1).values
        last = torch.where(loud > 0, frames, torch.full_like(frames, -1.0)).max(dim=1).values
        first = torch.where(n > 0, first, torch.zeros_like(first))
        last = torch.where(n > 0, last, torch.zeros_like(last))

        slot = torch.clamp(generated.long(), max=self.plain.shape[1] - 1)  # [b, L]
        plain = self.plain[script][:, None, :].expand(b, length, -1).gather(2, slot[..., None])[..., 0]
        timed = self.timed[script][:, None, :].expand(b, length, -1).gather(2, slot[..., None])[..., 0]
        end = self.tb + torch.clamp(torch.round((last + 1) / self.step_frames), max=self.last_timestamp).long()
        timed = torch.where(timed < 0, end[:, None].expand(b, length), timed)
        nxt = torch.where(plain_mode, plain, timed)
        logits = (torch.arange(d.n_vocab)[None, None, :] == nxt[..., None]).float() * LOGIT
        # Every past input takes part (times zero), so the export keeps the layout's full set of inputs.
        for kv in (self_past or []) + (cross_kv or []):
            logits = logits + 0.0 * (kv[0].sum() + kv[1].sum())

        span = last - first + 1
        words = self.lengths[script].float()  # [b]
        target = first[:, None] + (text_count + 0.5) / (words[:, None] + 1) * span[:, None]  # [b, L]
        width = torch.clamp(span / (words + 1), min=1.0)[:, None, None]
        # A power-law fall-off: no weight underflows to 0, so every frame still tells the tokens apart.
        scores = -4.0 * torch.log1p((frames[None, None, :] - target[..., None]).abs() / width)  # [b, L, 1500]
        weights = torch.softmax(scores, dim=-1)[:, None].expand(b, heads, length, loud.shape[1])

        presents_self = [(k, v) for _ in range(d.n_text_layer)]
        presents_cross = [(ck, cv) for _ in range(d.n_text_layer)]
        attentions = [weights for _ in range(d.n_text_layer)]
        return logits, presents_self, presents_cross, attentions, attentions


class ScriptedWhisper(nn.Module):
    def __init__(self, d: Dims, decoder: ScriptedDecoder):
        super().__init__()
        self.dims = d
        self.encoder = ScriptedEncoder(d)
        self.decoder = decoder


def build(d: Dims, tok: dict, scripts: list[list[int]], timestamp_step: float, bucket_seconds: float,
          suppressed: set[int], begin_suppressed: set[int]) -> ScriptedWhisper:
    ids = tok["ids"]
    eot, tb, no_ts = ids["<|endoftext|>"], ids["<|notimestamps|>"] + 1, ids["<|notimestamps|>"]
    slots = max(len(s) for s in scripts) + 3
    plain = torch.full((len(scripts), slots), eot, dtype=torch.long)
    timed = torch.full((len(scripts), slots), eot, dtype=torch.long)
    for i, tokens in enumerate(scripts):
        bad = [t for t in tokens if t in suppressed or t >= eot] + [t for t in tokens[:1] if t in begin_suppressed]
        if not tokens or bad:
            raise SystemExit(f"script {i} is empty or has tokens the decoding rules suppress: {bad}")
        plain[i, : len(tokens)] = torch.tensor(tokens)
        timed[i, : len(tokens) + 2] = torch.tensor([tb, *tokens, -1])
    lengths = torch.tensor([len(s) for s in scripts])
    decoder = ScriptedDecoder(d, plain, timed, lengths, eot, tb, no_ts, timestamp_step, bucket_seconds)
    return ScriptedWhisper(d, decoder).eval()
