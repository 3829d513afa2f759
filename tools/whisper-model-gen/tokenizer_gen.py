"""Builds a Whisper-shaped byte-level BPE tokenizer (tokenizer.json) for a random model.

Layout follows Whisper's: ordinary tokens (256 byte tokens in GPT-2's byte order, then merges),
then <|endoftext|>, <|startoftranscript|>, 99 language tokens, task/control tokens,
<|notimestamps|> and the timestamp tokens <|0.00|> .. <|30.00|>.
"""

import random
import re
from collections import Counter

# Whisper's 99 language codes, in token order.
LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su"
).split()
assert len(LANGUAGES) == 99

CONTROL_TOKENS = [
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
]

# A little call-centre English so the first merges look like real BPE merges.
CORPUS = """
Hello, thank you for calling. How can I help you today? I would like to check the status of my
order, please. Of course, can you give me the order number? Yes, it is four five six seven.
Thank you. Please hold the line while I check that for you. The order was shipped yesterday and
it should arrive on Thursday. That is great, thank you so much for your help. Is there anything
else I can help you with today? No, that is all. Thank you for calling and have a nice day.
I am calling about my bill. The payment did not go through and I would like to pay it now.
Sure, I can help you with that. Could you please confirm your name and the address on the account?
We are sorry for the wait. Your call is important to us. Please stay on the line.
"""

# Symbols Whisper suppresses by default (openai/whisper tokenizer.non_speech_tokens).
NON_SPEECH_SYMBOLS = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』') + (
    "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
)
MISCELLANEOUS_SYMBOLS = list("♩♪♫♬♭♮♯")

_PRETOKEN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map; its order is the byte tokens' id order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENCODER = bytes_to_unicode()


def to_byte_level(text: str) -> str:
    return "".join(BYTE_ENCODER[b] for b in text.encode("utf-8"))


def _train_merges(corpus: str, limit: int) -> list[tuple[str, str]]:
    words = Counter(to_byte_level(w) for w in _PRETOKEN.findall(corpus))
    splits = {w: list(w) for w in words}
    merges: list[tuple[str, str]] = []
    while len(merges) < limit:
        pairs: Counter = Counter()
        for word, count in words.items():
            parts = splits[word]
            for a, b in zip(parts, parts[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        (a, b), count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < 2:
            break
        merges.append((a, b))
        for word, parts in splits.items():
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            splits[word] = merged
    return merges


def build_tokenizer(n_ordinary: int, timestamp_step: float, seed: int) -> dict:
    """Returns {'vocab': [token strings by id], 'merges': [...], 'special': {name: id}, ...}."""
    vocab = list(BYTE_ENCODER.values())
    merges = _train_merges(CORPUS, n_ordinary - len(vocab))
    known = set(vocab)
    for a, b in merges:
        vocab.append(a + b)
        known.add(a + b)
    # Fill the rest with deterministic pseudo-merges: only decoding matters for a random model.
    rng = random.Random(seed)
    while len(vocab) < n_ordinary:
        a, b = vocab[rng.randrange(len(vocab))], vocab[rng.randrange(len(vocab))]
        if a + b in known or len(a + b) > 10:
            continue
        merges.append((a, b))
        vocab.append(a + b)
        known.add(a + b)

    specials = ["<|endoftext|>", "<|startoftranscript|>"] + [f"<|{code}|>" for code in LANGUAGES] + CONTROL_TOKENS
    n_steps = round(30.0 / timestamp_step)
    timestamps = [f"<|{i * timestamp_step:.2f}|>" for i in range(n_steps + 1)]
    ids = {tok: i for i, tok in enumerate(vocab)}
    added = []
    for name in specials + timestamps:
        ids[name] = len(ids)
        # Like Hugging Face's Whisper tokenizers, timestamps are added tokens but not "special".
        added.append({"id": ids[name], "content": name, "special": name not in timestamps})
    return {"vocab": vocab, "merges": merges, "ids": ids, "added": added, "n_vocab": len(ids)}


def encode(tok: dict, text: str) -> list[int]:
    """Text -> token ids with the BPE merges (lowest rank first), as the Hugging Face tokenizer would."""
    ranks = tok.setdefault("_ranks", {pair: i for i, pair in enumerate(tok["merges"])})
    ids: list[int] = []
    for piece in _PRETOKEN.findall(text):
        parts = list(to_byte_level(piece))
        while len(parts) > 1:
            ranked = [(ranks.get((a, b), len(ranks)), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(ranked)
            if rank == len(ranks):
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        ids += [tok["ids"][p] for p in parts]
    return ids


def single_token_id(tok: dict, text: str) -> int | None:
    return tok["ids"].get(to_byte_level(text))


def non_speech_token_ids(tok: dict) -> list[int]:
    found = set()
    for symbol in NON_SPEECH_SYMBOLS + MISCELLANEOUS_SYMBOLS:
        for variant in (symbol, " " + symbol):
            token_id = single_token_id(tok, variant)
            if token_id is not None:
                found.add(token_id)
    for text in (" -", " '"):
        token_id = single_token_id(tok, text)
        if token_id is not None:
            found.add(token_id)
    return sorted(found)


def tokenizer_json(tok: dict) -> dict:
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": a["id"],
                "content": a["content"],
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": a["special"],
            }
            for a in tok["added"]
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": {t: i for i, t in enumerate(tok["vocab"])},
            "merges": [f"{a} {b}" for a, b in tok["merges"]],
        },
    }


def tokenizer_config_json(tok: dict) -> dict:
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": True,
        "errors": "replace",
        "model_max_length": 1024,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": False,
        "tokenizer_class": "WhisperTokenizer",
        "added_tokens_decoder": {
            str(a["id"]): {
                "content": a["content"],
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": a["special"],
            }
            for a in tok["added"]
        },
    }
