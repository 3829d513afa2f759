"""Reference word timing: openai-whisper's `timing.py` (find_alignment, DTW, word splitting, punctuation
merging) over this generator's PyTorch model, the ground truth the engine's word timings are tested against.

1. One decoder pass over <|startoftranscript|> [<|lang|> <|task|>] <|notimestamps|> text tokens <|endoftext|>;
   the cross-attention scores (before the softmax) of the alignment heads, cut to the audio's frames
   (num_frames // 2 encoder frames), softmax over them; token probabilities from the same pass.
2. Per head: normalise each frame over the tokens (mean 0, std 1, biased; 0 where the std is 0), median filter of width 7 along the
   frames (reflect padding); mean over the heads; the rows from <|notimestamps|> to the last text token.
3. DTW on the negated matrix (float32 costs, ties to "left"), the first frame of every token's run is its time
   (frame / 50 s).
4. Tokens -> words: split on Unicode characters, then join pieces that do not start with a space or are not
   punctuation (split on characters only for zh, ja, th, lo, my, yue); a word's probability is the mean of its
   tokens'. Words at sentence ends longer than twice the median word duration (at most 0.7 s) are cut; then
   prepended punctuation joins the next word and appended punctuation the previous one.
"""

import string

import numpy as np
import torch
import torch.nn.functional as F

FRAMES_PER_SECOND = 50  # encoder frames: 16000 Hz / 160 hop / 2 (strided conv)
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
SENTENCE_END_MARKS = ".。!！?？"
UNICODE_SPLIT_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue"}


def median_filter(x: torch.Tensor, width: int) -> torch.Tensor:
    pad = width // 2
    if x.shape[-1] <= pad:
        return x
    padded = F.pad(x[None], (pad, pad, 0, 0), mode="reflect")[0]
    return padded.unfold(-1, width, 1).sort()[0][..., pad]


def dtw(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, m = x.shape
    cost = np.full((n + 1, m + 1), np.inf, dtype=np.float32)
    trace = -np.ones((n + 1, m + 1), dtype=np.float32)
    cost[0, 0] = 0
    for j in range(1, m + 1):
        for i in range(1, n + 1):
            c0, c1, c2 = cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]
            if c0 < c1 and c0 < c2:
                c, t = c0, 0
            elif c1 < c0 and c1 < c2:
                c, t = c1, 1
            else:
                c, t = c2, 2
            cost[i, j] = x[i - 1, j - 1] + c
            trace[i, j] = t
    i, j = n, m
    trace[0, :] = 2
    trace[:, 0] = 1
    path = []
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        if trace[i, j] == 0:
            i, j = i - 1, j - 1
        elif trace[i, j] == 1:
            i -= 1
        else:
            j -= 1
    path = np.array(path[::-1])
    return path[:, 0], path[:, 1]


def split_to_words(tokens: list[int], eot: int, decode, language: str | None) -> tuple[list[str], list[list[int]]]:
    """openai-whisper's split_tokens_on_unicode / split_tokens_on_spaces; `decode(ids)` decodes with U+FFFD."""
    full = decode(tokens)
    words: list[str] = []
    word_tokens: list[list[int]] = []
    current: list[int] = []
    offset = 0
    for token in tokens:
        current.append(token)
        text = decode(current)
        if "\ufffd" not in text or full[offset + text.index("\ufffd")] == "\ufffd":
            words.append(text)
            word_tokens.append(current)
            current = []
            offset += len(text)
    if language in UNICODE_SPLIT_LANGUAGES:
        return words, word_tokens
    joined: list[str] = []
    joined_tokens: list[list[int]] = []
    for word, ids in zip(words, word_tokens):
        if ids[0] >= eot or word.startswith(" ") or word.strip() in string.punctuation or not joined:
            joined.append(word)
            joined_tokens.append(list(ids))
        else:
            joined[-1] += word
            joined_tokens[-1].extend(ids)
    return joined, joined_tokens


@torch.no_grad()
def find_alignment(model, audio_features, sot_sequence: list[int], no_timestamps: int, eot: int,
                   text_tokens: list[int], num_frames: int, heads: list[list[int]], decode,
                   language: str | None, medfilt_width: int = 7) -> list[dict]:
    if not text_tokens or num_frames // 2 < 1:
        return []
    tokens = [*sot_sequence, no_timestamps, *text_tokens, eot]
    logits, _, _, _, qks = model.decoder(torch.tensor([tokens]), audio_features)
    prompt = len(sot_sequence) + 1
    probs = logits[0, prompt - 1 : -1, :eot].softmax(dim=-1)
    token_probs = probs[np.arange(len(text_tokens)), text_tokens].tolist()

    weights = torch.stack([qks[layer][0, head] for layer, head in heads])  # heads x tokens x frames
    weights = weights[:, :, : num_frames // 2].softmax(dim=-1)
    std, mean = torch.std_mean(weights, dim=-2, keepdim=True, unbiased=False)
    # A frame every token attends to equally carries no timing (std 0): 0 rather than openai-whisper's NaN.
    weights = torch.where(std > 0, (weights - mean) / std, torch.zeros_like(weights))
    weights = median_filter(weights, medfilt_width)
    matrix = weights.mean(dim=0)[prompt - 1 : -1]
    text_indices, time_indices = dtw(-matrix.double().numpy())

    words, word_tokens = split_to_words(text_tokens + [eot], eot, decode, language)
    if len(word_tokens) <= 1:
        return []
    boundaries = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
    jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
    jump_times = time_indices[jumps] / FRAMES_PER_SECOND
    starts = jump_times[boundaries[:-1]]
    ends = jump_times[boundaries[1:]]
    return [
        {"word": w, "tokens": t, "start": float(s), "end": float(e), "probability": float(np.mean(token_probs[i:j]))}
        for w, t, s, e, i, j in zip(words, word_tokens, starts, ends, boundaries[:-1], boundaries[1:])
    ]


def merge_punctuations(alignment: list[dict]) -> None:
    i, j = len(alignment) - 2, len(alignment) - 1
    while i >= 0:
        previous, following = alignment[i], alignment[j]
        if previous["word"].startswith(" ") and previous["word"].strip() in PREPEND_PUNCTUATIONS:
            following["word"] = previous["word"] + following["word"]
            following["tokens"] = previous["tokens"] + following["tokens"]
            previous["word"], previous["tokens"] = "", []
        else:
            j = i
        i -= 1
    i, j = 0, 1
    while j < len(alignment):
        previous, following = alignment[i], alignment[j]
        if not previous["word"].endswith(" ") and following["word"] in APPEND_PUNCTUATIONS:
            previous["word"] = previous["word"] + following["word"]
            previous["tokens"] = previous["tokens"] + following["tokens"]
            following["word"], following["tokens"] = "", []
        else:
            i = j
        j += 1


def word_timings(alignment: list[dict]) -> list[dict]:
    """openai-whisper's add_word_timestamps for one window: sentence-end truncation, punctuation merging."""
    durations = np.array([w["end"] - w["start"] for w in alignment])
    durations = durations[durations.nonzero()]
    if len(durations) > 0:
        max_duration = min(0.7, float(np.median(durations))) * 2
        for i in range(1, len(alignment)):
            if alignment[i]["end"] - alignment[i]["start"] > max_duration:
                if alignment[i]["word"] in SENTENCE_END_MARKS:
                    alignment[i]["end"] = alignment[i]["start"] + max_duration
                elif alignment[i - 1]["word"] in SENTENCE_END_MARKS:
                    alignment[i]["start"] = alignment[i]["end"] - max_duration
    merge_punctuations(alignment)
    return [
        {"text": w["word"], "start": round(w["start"], 2), "end": round(w["end"], 2), "probability": w["probability"],
         "tokens": w["tokens"]}
        for w in alignment if w["word"]
    ]
