"""Reference front end and greedy decoding, the ground truth the TypeScript engine is tested against.

Front end (Whisper's): 16 kHz audio padded/trimmed to 30 s, STFT with n_fft 400, hop 160, periodic Hann
window, centred with reflect padding; power spectrum without the last frame; Slaney-style mel filters;
log10 with a 1e-10 clamp, floored at (max - 8), then (x + 4) / 4.

Decoding rules (shared with the engine):
- control tokens (<|startoftranscript|> .. <|notimestamps|>) are never generated;
- `suppress_tokens` always, `begin_suppress_tokens` on the first generated token;
- timestamp tokens are suppressed unless timestamps are requested, in which case Whisper's timestamp
  rules apply (pairs, non-decreasing, first token a timestamp <= max_initial_timestamp_index,
  force a timestamp when their total probability beats every text token);
- greedy argmax; EOT ends decoding (and is not part of the tokens); the budget caps new tokens.
"""

import math

import numpy as np
import torch

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_SAMPLES = 30 * SAMPLE_RATE
N_FRAMES = N_SAMPLES // HOP


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep, mels)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filters(n_mels: int) -> np.ndarray:
    """Slaney mel scale, Slaney area normalisation, 0 Hz .. 8 kHz (librosa.filters.mel defaults)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2)), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


def log_mel(audio: np.ndarray, n_mels: int) -> np.ndarray:
    x = torch.zeros(N_SAMPLES, dtype=torch.float64)
    n = min(len(audio), N_SAMPLES)
    x[:n] = torch.from_numpy(audio[:n].astype(np.float64))
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64)
    stft = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = stft[:, :-1].abs() ** 2
    mel = torch.from_numpy(mel_filters(n_mels)) @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).numpy()


class Rules:
    def __init__(self, gen: dict, special: dict, n_vocab: int):
        self.eot = gen["eos_token_id"]
        self.sot = gen["decoder_start_token_id"]
        self.no_timestamps = gen["no_timestamps_token_id"]
        self.timestamp_begin = self.no_timestamps + 1
        self.suppress = gen["suppress_tokens"]
        self.begin_suppress = gen["begin_suppress_tokens"]
        self.max_initial_timestamp_index = gen.get("max_initial_timestamp_index")
        self.no_speech = special["<|nocaptions|>"]
        self.n_vocab = n_vocab

    def apply(self, logits: np.ndarray, generated: list[int], with_timestamps: bool) -> np.ndarray:
        out = logits.astype(np.float64).copy()
        out[self.suppress] = -np.inf
        out[self.sot : self.no_timestamps + 1] = -np.inf
        if not generated:
            out[self.begin_suppress] = -np.inf
        tb = self.timestamp_begin
        if not with_timestamps:
            out[tb:] = -np.inf
            return out
        last_ts = len(generated) >= 1 and generated[-1] >= tb
        penultimate_ts = len(generated) < 2 or generated[-2] >= tb
        if last_ts:
            if penultimate_ts:
                out[tb:] = -np.inf
            else:
                out[: self.eot] = -np.inf
        stamps = [t for t in generated if t >= tb]
        if stamps:
            floor = stamps[-1] if (last_ts and not penultimate_ts) else stamps[-1] + 1
            out[tb:floor] = -np.inf
        if not generated:
            out[:tb] = -np.inf
            if self.max_initial_timestamp_index is not None:
                out[tb + self.max_initial_timestamp_index + 1 :] = -np.inf
        logprobs = _log_softmax(out)
        if _logsumexp(logprobs[tb:]) > logprobs[:tb].max():
            out[:tb] = -np.inf
        return out


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x[np.isfinite(x)].max()
    return x - (m + math.log(np.exp(x - m).sum()))


def _logsumexp(x: np.ndarray) -> float:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return -math.inf
    m = finite.max()
    return float(m + math.log(np.exp(finite - m).sum()))


@torch.no_grad()
def greedy(model, audio_features, prompt: list[int], rules: Rules, max_new: int, with_timestamps: bool, use_cache: bool) -> dict:
    dec = model.decoder
    tokens = list(prompt)
    generated: list[int] = []
    sum_logprob = 0.0
    min_margin = math.inf
    no_speech_prob = None
    first_logits = None
    self_kv = cross_kv = None
    stop = "max-tokens"
    for step in range(max_new):
        if use_cache and step > 0:
            logits, self_kv, _, _, _ = dec(torch.tensor([[tokens[-1]]]), None, self_kv, cross_kv)
        else:
            logits, self_kv, cross_kv, _, _ = dec(torch.tensor([tokens]), audio_features)
        logits = logits[0].double().numpy()
        if step == 0:
            at_sot = logits[prompt.index(rules.sot)]
            no_speech_prob = float(np.exp(_log_softmax(at_sot))[rules.no_speech])
            first_logits = logits[-1]
        filtered = rules.apply(logits[-1], generated, with_timestamps)
        order = np.argsort(-filtered, kind="stable")
        token = int(order[0])
        if np.isfinite(filtered[order[1]]):
            min_margin = min(min_margin, float(filtered[order[0]] - filtered[order[1]]))
        sum_logprob += float(_log_softmax(filtered)[token])
        if token == rules.eot:
            stop = "eot"
            sum_count = len(generated) + 1
            break
        generated.append(token)
        tokens.append(token)
    else:
        sum_count = len(generated)
    return {
        "tokens": generated,
        "stopReason": stop,
        "noSpeechProb": no_speech_prob,
        "sumLogProb": sum_logprob,
        "avgLogProb": sum_logprob / max(sum_count, 1),
        "minMargin": min_margin,
        "firstStepLogits": first_logits,
    }


@torch.no_grad()
def detect_language(model, audio_features, sot: int, language_ids: dict[str, int]) -> str:
    logits, *_ = model.decoder(torch.tensor([[sot]]), audio_features)
    row = logits[0, 0]
    return max(language_ids.items(), key=lambda kv: float(row[kv[1]]))[0]
