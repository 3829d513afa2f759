#!/usr/bin/env python3
"""Generate a random-weight Whisper-architecture model in the onnx-community layout, plus reference outputs.

    generate.py --preset test --out DIR [--reference-out DIR] [--english-only] [--seed N]
    generate.py --preset tiny --out DIR [--english-only]

No weights are downloaded: the architecture is defined here (model.py) and filled with seeded random weights.
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import onnx
import torch

import onnx_export
import reference
import scripted
import timing
import tokenizer_gen
from model import Dims, Whisper, randomize

PRESETS = {
    # Small enough to commit; n_audio_ctx stays 1500 because 30 s of audio is 3000 frames, halved by conv2.
    "test": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=2,
                 n_text_ctx=64, n_text_state=64, n_text_head=2, n_text_layer=2,
                 n_ordinary=360, timestamp_step=0.2, max_initial_timestamp_index=5),
    # Whisper tiny's real dimensions (51865 tokens multilingual, 51864 English-only), for benchmarks.
    "tiny": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=384, n_audio_head=6, n_audio_layer=4,
                 n_text_ctx=448, n_text_state=384, n_text_head=6, n_text_layer=4,
                 n_ordinary=50257, timestamp_step=0.02, max_initial_timestamp_index=50),
}

# ONNX Runtime's fp32 logits differ from PyTorch's by ~1e-5; a top-1 lead below this would make the
# exact token comparison depend on float rounding rather than on the engine being right.
MIN_TOP1_MARGIN = 0.02

DIM_FLAGS = ["n_mels", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer"]


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def hf_config(d: Dims, tok: dict, gen: dict) -> dict:
    return {
        "_name_or_path": "whisper-model-gen/random",
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "activation_function": "gelu",
        "d_model": d.n_text_state,
        "encoder_attention_heads": d.n_audio_head,
        "encoder_ffn_dim": 4 * d.n_audio_state,
        "encoder_layers": d.n_audio_layer,
        "decoder_attention_heads": d.n_text_head,
        "decoder_ffn_dim": 4 * d.n_text_state,
        "decoder_layers": d.n_text_layer,
        "num_hidden_layers": d.n_audio_layer,
        "num_mel_bins": d.n_mels,
        "max_source_positions": d.n_audio_ctx,
        "max_target_positions": d.n_text_ctx,
        "vocab_size": d.n_vocab,
        "bos_token_id": gen["bos_token_id"],
        "eos_token_id": gen["eos_token_id"],
        "pad_token_id": gen["pad_token_id"],
        "decoder_start_token_id": gen["decoder_start_token_id"],
        "begin_suppress_tokens": gen["begin_suppress_tokens"],
        "suppress_tokens": gen["suppress_tokens"],
        "max_length": d.n_text_ctx,
        "is_encoder_decoder": True,
        "scale_embedding": False,
        "use_cache": True,
        "dropout": 0.0,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "torch_dtype": "float32",
    }


def generation_config(d: Dims, tok: dict, multilingual: bool, max_initial_timestamp_index: int) -> dict:
    ids = tok["ids"]
    eot = ids["<|endoftext|>"]
    lang_to_id = {f"<|{code}|>": ids[f"<|{code}|>"] for code in tokenizer_gen.LANGUAGES}
    task_to_id = {"translate": ids["<|translate|>"], "transcribe": ids["<|transcribe|>"]}
    suppress = tokenizer_gen.non_speech_token_ids(tok) + [
        ids[n] for n in ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>")
    ]
    gen = {
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": ids["<|startoftranscript|>"],
        "no_timestamps_token_id": ids["<|notimestamps|>"],
        "prev_sot_token_id": ids["<|startofprev|>"],
        "suppress_tokens": sorted(set(suppress)),
        "begin_suppress_tokens": [ids[tokenizer_gen.to_byte_level(" ")], eot],
        "max_initial_timestamp_index": max_initial_timestamp_index,
        "max_length": d.n_text_ctx,
        "is_multilingual": multilingual,
        "return_timestamps": False,
        "alignment_heads": [[d.n_text_layer - 1, h] for h in range(d.n_text_head)],
    }
    if multilingual:
        gen["lang_to_id"] = lang_to_id
        gen["task_to_id"] = task_to_id
        gen["forced_decoder_ids"] = [[1, None], [2, task_to_id["transcribe"]]]
    else:
        gen["forced_decoder_ids"] = [[1, ids["<|notimestamps|>"]]]
    return gen


def preprocessor_config(d: Dims) -> dict:
    return {
        "chunk_length": 30,
        "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": d.n_mels,
        "hop_length": reference.HOP,
        "n_fft": reference.N_FFT,
        "n_samples": reference.N_SAMPLES,
        "nb_max_frames": reference.N_FRAMES,
        "padding_side": "right",
        "padding_value": 0.0,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": False,
        "sampling_rate": reference.SAMPLE_RATE,
    }


def build(preset: dict, english_only: bool, seed: int, overrides: dict, n_vocab: int | None = None):
    p = {**preset, **{k: v for k, v in overrides.items() if v is not None}}
    # Like Whisper, English-only vocabularies have one ordinary token fewer (51864 vs 51865 for real models).
    n_ordinary = p["n_ordinary"] - (1 if english_only else 0)
    if n_vocab is not None:
        n_special = 2 + len(tokenizer_gen.LANGUAGES) + len(tokenizer_gen.CONTROL_TOKENS) + round(30.0 / p["timestamp_step"]) + 1
        n_ordinary = n_vocab - n_special
        if n_ordinary < 256:
            raise SystemExit(f"--n-vocab must be at least {256 + n_special} (256 byte tokens + {n_special} special/timestamp tokens)")
    tok = tokenizer_gen.build_tokenizer(n_ordinary, p["timestamp_step"], seed)
    d = Dims(n_mels=p["n_mels"], n_audio_ctx=p["n_audio_ctx"], n_audio_state=p["n_audio_state"],
             n_audio_head=p["n_audio_head"], n_audio_layer=p["n_audio_layer"], n_vocab=tok["n_vocab"],
             n_text_ctx=p["n_text_ctx"], n_text_state=p["n_text_state"], n_text_head=p["n_text_head"],
             n_text_layer=p["n_text_layer"])
    model = Whisper(d).eval()
    randomize(model, seed, tok["ids"]["<|endoftext|>"], tok["ids"]["<|nocaptions|>"])
    gen = generation_config(d, tok, not english_only, p["max_initial_timestamp_index"])
    return model, tok, gen


# Short enough for the token budget of their bucket (8 tokens a second + 12, two of them timestamps); each first
# token is a word with its space, since a lone space may not start a transcript.
DEFAULT_SCRIPTS = [
    " and the cat sat on the mat.",
    " the agent will call you back.",
    " thank you, goodbye.",
    " good morning, how can I help?",
]


def write_model(out: Path, model, tok: dict, gen: dict, quantized: bool, timestamped: bool) -> None:
    d = model.dims
    write_json(out / "config.json", hf_config(d, tok, gen))
    write_json(out / "generation_config.json", gen)
    write_json(out / "preprocessor_config.json", preprocessor_config(d))
    write_json(out / "tokenizer.json", tokenizer_gen.tokenizer_json(tok))
    write_json(out / "tokenizer_config.json", tokenizer_gen.tokenizer_config_json(tok))
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    encoder = onnx_export.export_encoder(model)
    decoder = onnx_export.export_decoder_merged(model, cross_attentions=timestamped)
    onnx.save(encoder, str(out / "onnx/encoder_model.onnx"))
    onnx.save(decoder, str(out / "onnx/decoder_model_merged.onnx"))
    if quantized:
        onnx.save(onnx_export.quantize_dynamic_int8(encoder), str(out / "onnx/encoder_model_quantized.onnx"))
        onnx.save(onnx_export.quantize_dynamic_int8(decoder), str(out / "onnx/decoder_model_merged_quantized.onnx"))


def test_audios() -> dict[str, np.ndarray]:
    """Deterministic 16 kHz clips, stored as int16 so both sides read identical samples."""
    sr = reference.SAMPLE_RATE
    t = np.arange(3 * sr) / sr
    f0, f1, length = 200.0, 3000.0, 3.0
    chirp = 0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * length)))
    t = np.arange(5 * sr) / sr
    pitch = 120.0 + 15.0 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    vowel = np.zeros_like(t)
    for k in range(1, 30):  # harmonics shaped by three formants (an "a"-like vowel)
        f = k * 120.0
        amp = sum(g / (1.0 + ((f - fc) / bw) ** 2) for fc, bw, g in ((700, 130, 1.0), (1220, 70, 0.5), (2600, 160, 0.25)))
        vowel += amp * np.sin(k * phase)
    envelope = np.minimum(1.0, np.minimum(t / 0.2, (5.0 - t) / 0.2)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t) ** 2)
    vowel = 0.4 * vowel * envelope / np.abs(vowel).max()
    clips = {"chirp-3s": chirp, "vowel-5s": vowel, "silence-2s": np.zeros(2 * sr)}
    return {name: np.round(np.clip(x, -1, 1) * 32767).astype("<i2") for name, x in clips.items()}


def decode_raw(tok: dict, ids: list[int]) -> str:
    """Ordinary tokens -> text via the byte-level map (specials and timestamps skipped), invalid UTF-8 as U+FFFD."""
    byte_of = {ch: b for b, ch in tokenizer_gen.BYTE_ENCODER.items()}
    n_ordinary = len(tok["vocab"])
    data = bytes(byte_of[ch] for i in ids if i < n_ordinary for ch in tok["vocab"][i])
    return data.decode("utf-8", errors="replace")


def decode_text(tok: dict, ids: list[int]) -> str:
    return decode_raw(tok, ids).strip()


ALIGNMENT_CASES = [
    ("vowel-5s", "en", ' "Well," she said, (quietly) the test is over. Is it? Yes: it is!'),
    ("chirp-3s", "en", " and the cat sat on the mat"),
    ("vowel-5s", "ja", "こんにちは、世界。"),
]


def write_reference(ref_dir: Path, model: Whisper, tok: dict, gen: dict, seed: int, timestamped: bool) -> dict:
    ids = tok["ids"]
    d = model.dims
    rules = reference.Rules(gen, ids, d.n_vocab)
    sot, eot = ids["<|startoftranscript|>"], ids["<|endoftext|>"]
    multilingual = gen["is_multilingual"]
    lang_ids = {code: ids[f"<|{code}|>"] for code in tokenizer_gen.LANGUAGES}
    ref = {
        "about": "Reference outputs of tools/whisper-model-gen (PyTorch) for the committed random test model.",
        "seed": seed,
        "dims": d.as_dict(),
        "melFilters": {"nMels": d.n_mels, "sum": float(reference.mel_filters(d.n_mels).sum()),
                       "row10": reference.mel_filters(d.n_mels)[10].tolist()},
        "audios": [],
        "decodes": [],
    }
    ref_dir.mkdir(parents=True, exist_ok=True)
    features = {}
    for name, pcm in test_audios().items():
        audio = pcm.astype(np.float32) / 32768.0
        mel = reference.log_mel(audio, d.n_mels)
        (ref_dir / f"{name}.s16le").write_bytes(pcm.tobytes())
        # Frames past the audio (plus the STFT's reach) all hold one value; store the signal part in full.
        signal_frames = min(reference.N_FRAMES, math.ceil(len(pcm) / reference.HOP) + 3)
        mel[:, :signal_frames].astype("<f4").tofile(ref_dir / f"{name}.logmel.f32")
        tail = mel[:, signal_frames:]
        with torch.no_grad():
            xa = model.encoder(torch.from_numpy(mel.astype(np.float32))[None])
        features[name] = xa
        ref["audios"].append({
            "name": name,
            "pcmFile": f"{name}.s16le",
            "samples": len(pcm),
            "logMelFile": f"{name}.logmel.f32",
            "signalFrames": signal_frames,
            "tail": {"min": float(tail.min()), "max": float(tail.max())},
            "stats": {"mean": float(mel.mean()), "min": float(mel.min()), "max": float(mel.max()),
                      "sumAbs": float(np.abs(mel).sum())},
            "encoder": {"frame0": xa[0, 0, :16].tolist(), "frame700": xa[0, 700, :16].tolist(),
                        "mean": float(xa.mean()), "std": float(xa.std())},
            "detectedLanguage": reference.detect_language(model, xa, sot, lang_ids) if multilingual else None,
        })

    def prompt_for(language: str | None, task: str | None, with_timestamps: bool) -> list[int]:
        prompt = [sot]
        if language is not None:
            prompt += [ids[f"<|{language}|>"], ids[f"<|{task}|>"]]
        if not with_timestamps:
            prompt.append(ids["<|notimestamps|>"])
        return prompt

    budget = 24
    if multilingual:
        cases = [
            ("chirp-3s", "en", "transcribe", False, budget),
            ("vowel-5s", "en", "transcribe", False, budget),
            ("silence-2s", "en", "transcribe", False, budget),
            ("vowel-5s", "de", "translate", False, budget),
            ("chirp-3s", "en", "transcribe", True, budget),
            ("vowel-5s", None, None, False, budget),  # as an English-only model: <|startoftranscript|><|notimestamps|>
        ]
    else:
        cases = [(name, None, None, False, budget) for name in ("chirp-3s", "vowel-5s", "silence-2s")]
        cases.append(("chirp-3s", None, None, True, budget))
    for audio, language, task, with_ts, max_new in cases:
        prompt = prompt_for(language, task, with_ts)
        runs = {mode: reference.greedy(model, features[audio], prompt, rules, max_new, with_ts, mode == "cache")
                for mode in ("nocache", "cache")}
        if runs["nocache"]["tokens"] != runs["cache"]["tokens"]:
            raise RuntimeError(f"PyTorch reference disagrees with itself (cache vs no cache) on {audio}")
        r = runs["cache"]
        ref["decodes"].append({
            "audio": audio, "language": language, "task": task, "withTimestamps": with_ts,
            "maxNewTokens": max_new, "prompt": prompt,
            "tokensNoCache": runs["nocache"]["tokens"], "tokensKvCache": r["tokens"],
            "text": decode_text(tok, r["tokens"]),
            "stopReason": r["stopReason"], "noSpeechProb": r["noSpeechProb"],
            "sumLogProb": r["sumLogProb"], "avgLogProb": r["avgLogProb"],
            "minTop1Margin": min(runs["nocache"]["minMargin"], r["minMargin"]),
            "firstStepLogits": r["firstStepLogits"][:32].tolist(),
            "firstStepLogitsArgmax": int(np.argmax(r["firstStepLogits"])),
        })
        if timestamped:
            # Word timing as openai-whisper does it: a separate pass over the text tokens (no timestamps).
            sot_sequence = prompt[:3] if language is not None else prompt[:1]
            text_tokens = [t for t in r["tokens"] if t < eot]
            num_frames = len(test_audios()[audio]) // reference.HOP
            alignment = timing.find_alignment(
                model, features[audio], sot_sequence, ids["<|notimestamps|>"], eot, text_tokens, num_frames,
                gen["alignment_heads"], lambda t: decode_raw(tok, t), language)
            ref["decodes"][-1]["words"] = timing.word_timings(alignment)
    if timestamped:
        # Forced alignment of given text: real words, punctuation to merge, and a language split on characters.
        ref["alignments"] = []
        for audio, language, text in ALIGNMENT_CASES:
            text_tokens = tokenizer_gen.encode(tok, text)
            alignment = timing.find_alignment(
                model, features[audio], [sot, ids[f"<|{language}|>"], ids["<|transcribe|>"]], ids["<|notimestamps|>"],
                eot, text_tokens, len(test_audios()[audio]) // reference.HOP, gen["alignment_heads"],
                lambda t: decode_raw(tok, t), language)
            ref["alignments"].append({"audio": audio, "language": language, "text": text, "tokens": text_tokens,
                                      "words": timing.word_timings(alignment)})
    ref["eot"] = eot
    write_json(ref_dir / "reference.json", ref)
    return ref


def check_reference(ref: dict) -> list[str]:
    """Problems that would make the committed test weak: short sequences, near-ties, no EOT ending anywhere."""
    problems = []
    for dec in ref["decodes"]:
        if len(dec["tokensKvCache"]) < 10:
            problems.append(f"{dec['audio']}: only {len(dec['tokensKvCache'])} tokens")
        if dec["minTop1Margin"] < MIN_TOP1_MARGIN:
            problems.append(f"{dec['audio']}: top-1 margin {dec['minTop1Margin']:.4f} is a near-tie")
    if not any(0.01 < dec["noSpeechProb"] < 0.99 for dec in ref["decodes"]):
        problems.append("no-speech probability is ~0 or ~1 everywhere")
    if not any(dec["stopReason"] == "eot" for dec in ref["decodes"]):
        problems.append("no decode ends with EOT")
    if not any(dec["stopReason"] == "max-tokens" for dec in ref["decodes"]):
        problems.append("no decode runs into the token budget")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test")
    parser.add_argument("--out", type=Path, required=True, help="model directory (onnx-community layout)")
    parser.add_argument("--reference-out", type=Path, help="where to write reference outputs (reference.json etc.)")
    parser.add_argument("--english-only", action="store_true", help="English-only model (no language/task tokens in the prompt)")
    parser.add_argument("--seed", type=int, default=38)
    parser.add_argument("--no-quantized", action="store_true", help="skip the *_quantized.onnx variants")
    parser.add_argument("--n-vocab", type=int, help="total vocabulary size (sets the number of ordinary BPE tokens)")
    parser.add_argument("--scripted", action="store_true",
                        help="a scripted test model (see scripted.py): says --script sentences, chosen by speech duration")
    parser.add_argument("--script", action="append", help="a scripted sentence (repeat; default: four built-in ones)")
    parser.add_argument("--bucket-seconds", type=float, default=1.0,
                        help="scripted: speech seconds per script (script i for i..i+1 buckets)")
    parser.add_argument("--timestamped", action="store_true",
                        help="the onnx-community _timestamped layout: the decoder also returns cross_attentions.{i}")
    for flag in DIM_FLAGS:
        parser.add_argument(f"--{flag.replace('_', '-')}", type=int, dest=flag)
    args = parser.parse_args()

    started = time.time()
    torch.manual_seed(args.seed)
    overrides = {f: getattr(args, f) for f in DIM_FLAGS}
    model, tok, gen = build(PRESETS[args.preset], args.english_only, args.seed, overrides, args.n_vocab)
    if args.scripted:
        texts = args.script or DEFAULT_SCRIPTS
        scripts = [tokenizer_gen.encode(tok, text) for text in texts]
        suppressed = set(gen["suppress_tokens"])
        preset = {**PRESETS[args.preset], **{k: v for k, v in overrides.items() if v is not None}}
        model = scripted.build(model.dims, tok, scripts, preset["timestamp_step"], args.bucket_seconds, suppressed,
                               set(gen["begin_suppress_tokens"]))
        write_model(args.out, model, tok, gen, False, True)
        write_json(args.out / "script.json", {
            "about": "Scripted test model (tools/whisper-model-gen/scripted.py): a test fixture that says these "
                     "sentences whatever the audio; it recognises nothing. Script i is said for speech of "
                     "i * bucketSeconds up to (i + 1) * bucketSeconds (the last one for anything longer).",
            "bucketSeconds": args.bucket_seconds,
            "scripts": [{"text": t, "tokens": ids} for t, ids in zip(texts, scripts)],
        })
        print(f"scripted model written to {args.out} ({len(scripts)} scripts)")
        return
    write_model(args.out, model, tok, gen, not args.no_quantized, args.timestamped)
    print(f"model written to {args.out} ({model.dims.n_vocab} tokens) in {time.time() - started:.1f}s")
    if args.reference_out:
        ref = write_reference(args.reference_out, model, tok, gen, args.seed, args.timestamped)
        for dec in ref["decodes"]:
            print(f"  {dec['audio']:<11} lang={dec['language']} ts={dec['withTimestamps']!s:<5} "
                  f"{len(dec['tokensKvCache'])} tokens, stop={dec['stopReason']}, margin={dec['minTop1Margin']:.3f}")
        problems = check_reference(ref)
        if problems:
            raise SystemExit("reference too weak for a test (try another --seed): " + "; ".join(problems))
        print(f"reference written to {args.reference_out}")


if __name__ == "__main__":
    main()
