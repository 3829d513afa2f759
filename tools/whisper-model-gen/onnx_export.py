"""ONNX export in the onnx-community (Optimum) layout.

- encoder_model.onnx: input_features [batch, n_mels, 3000] -> last_hidden_state [batch, 1500, d].
- decoder_model_merged.onnx: one `If` on `use_cache_branch` over two traced graphs, the way Optimum merges
  decoder_model.onnx and decoder_with_past_model.onnx:
    else (no past): input_ids + encoder_hidden_states -> logits, present.{i}.decoder.*, present.{i}.encoder.*
    then (with past): input_ids + past_key_values.{i}.* -> logits, present.{i}.decoder.*, and empty
                      constants [0, heads, 1, head_dim] for present.{i}.encoder.* (callers keep the first ones).
  Weights live once in the outer graph, deduplicated by content.
  With `cross_attentions=True` (the onnx-community `_timestamped` layout, exported by transformers.js with
  `output_attentions`), both branches also return `cross_attentions.{i}` [batch, heads, new tokens, 1500]: each
  decoder layer's cross-attention weights after the softmax, for word timing from the alignment heads.
- *_quantized.onnx: dynamic int8 quantization of every MatMul with a constant weight:
  DynamicQuantizeLinear(A) -> MatMulInteger(A_q, W_q int8 symmetric per tensor) -> Cast -> Mul(scale_a * scale_w).
"""

import hashlib
import io

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _export(module: torch.nn.Module, args: tuple, input_names, output_names, dynamic_axes) -> onnx.ModelProto:
    buffer = io.BytesIO()
    torch.onnx.export(
        module,
        args,
        buffer,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        opset_version=OPSET,
        do_constant_folding=True,
    )
    return onnx.load_from_string(buffer.getvalue())


class _Encoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.encoder = model.encoder

    def forward(self, input_features):
        return self.encoder(input_features)


class _DecoderNoPast(torch.nn.Module):
    def __init__(self, model, cross_attentions: bool):
        super().__init__()
        self.decoder = model.decoder
        self.cross_attentions = cross_attentions

    def forward(self, input_ids, encoder_hidden_states):
        logits, self_kv, cross_kv, weights, _ = self.decoder(input_ids, encoder_hidden_states)
        flat = []
        for (dk, dv), (ek, ev) in zip(self_kv, cross_kv):
            flat += [dk, dv, ek, ev]
        return (logits, *flat, *(weights if self.cross_attentions else []))


class _DecoderWithPast(torch.nn.Module):
    def __init__(self, model, cross_attentions: bool):
        super().__init__()
        self.decoder = model.decoder
        self.cross_attentions = cross_attentions

    def forward(self, input_ids, *past):
        self_past = [(past[4 * i], past[4 * i + 1]) for i in range(len(past) // 4)]
        cross = [(past[4 * i + 2], past[4 * i + 3]) for i in range(len(past) // 4)]
        logits, self_kv, _, weights, _ = self.decoder(input_ids, None, self_past, cross)
        flat = []
        for dk, dv in self_kv:
            flat += [dk, dv]
        return (logits, *flat, *(weights if self.cross_attentions else []))


def _kv_names(prefix: str, layers: int, parts=("decoder", "encoder")) -> list[str]:
    return [f"{prefix}.{i}.{part}.{kv}" for i in range(layers) for part in parts for kv in ("key", "value")]


def export_encoder(model) -> onnx.ModelProto:
    d = model.dims
    mel = torch.zeros(1, d.n_mels, 2 * d.n_audio_ctx)
    return _export(_Encoder(model), (mel,), ["input_features"], ["last_hidden_state"], {
        "input_features": {0: "batch_size"},
        "last_hidden_state": {0: "batch_size"},
    })


def export_decoder_merged(model, cross_attentions: bool = False) -> onnx.ModelProto:
    d = model.dims
    layers, heads, head_dim = d.n_text_layer, d.n_text_head, d.n_text_state // d.n_text_head
    ids = torch.zeros(1, 3, dtype=torch.long)
    audio = torch.zeros(1, d.n_audio_ctx, d.n_audio_state)
    present = _kv_names("present", layers)
    attentions = [f"cross_attentions.{i}" for i in range(layers)] if cross_attentions else []
    attention_axes = {name: {0: "batch_size", 2: "decoder_sequence_length", 3: "encoder_sequence_length_out"}
                      for name in attentions}
    axes = {"input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
            "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length / 2"},
            "logits": {0: "batch_size", 1: "decoder_sequence_length"}}
    for name in present:
        axes[name] = {0: "batch_size", 2: "past_decoder_sequence_length + 1" if ".decoder." in name else "encoder_sequence_length_out"}
    axes.update(attention_axes)
    no_past = _export(_DecoderNoPast(model, cross_attentions), (ids, audio), ["input_ids", "encoder_hidden_states"],
                      ["logits", *present, *attentions], axes)

    past_names = _kv_names("past_key_values", layers)
    past = []
    for name in past_names:
        seq = 3 if ".decoder." in name else d.n_audio_ctx
        past.append(torch.zeros(1, heads, seq, head_dim))
    one = torch.zeros(1, 1, dtype=torch.long)
    present_self = _kv_names("present", layers, ("decoder",))
    axes_past = {"input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
                 "logits": {0: "batch_size", 1: "decoder_sequence_length"}}
    for name in past_names:
        axes_past[name] = {0: "batch_size", 2: "past_decoder_sequence_length" if ".decoder." in name else "encoder_sequence_length_out"}
    for name in present_self:
        axes_past[name] = {0: "batch_size", 2: "past_decoder_sequence_length + 1"}
    axes_past.update(attention_axes)
    with_past = _export(_DecoderWithPast(model, cross_attentions), (one, *past), ["input_ids", *past_names],
                        ["logits", *present_self, *attentions], axes_past)
    return merge_decoders(no_past, with_past, heads, head_dim)


def _is_shared_initializer(t: TensorProto) -> bool:
    # Small integer constants stay inside their branch (as Optimum does); weights move to the outer graph.
    return not (len(t.dims) == 0 or (len(t.dims) == 1 and t.data_type in (TensorProto.INT32, TensorProto.INT64)))


def _branch(model: onnx.ModelProto, tag: str, shared: dict[str, str], outputs: list[onnx.ValueInfoProto],
            extra_nodes: list[onnx.NodeProto]) -> onnx.GraphProto:
    """Turns a traced graph into an If branch: internal names get the branch tag, weights point to the shared copies."""
    g = model.graph
    outer = {i.name for i in g.input}
    local = {}
    for node in g.node:
        for out in node.output:
            if out:
                local[out] = f"{tag}/{out}"
    kept_inits = []
    for t in g.initializer:
        if t.name in shared:
            continue
        local[t.name] = f"{tag}/{t.name}"
        copy = TensorProto()
        copy.CopyFrom(t)
        copy.name = local[t.name]
        kept_inits.append(copy)

    def rename(name: str) -> str:
        if not name or name in outer:
            return name
        return local.get(name) or shared[name]

    nodes = []
    for node in g.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = f"{tag}/{node.name}"
        del copy.input[:]
        copy.input.extend(rename(n) for n in node.input)
        del copy.output[:]
        copy.output.extend(rename(n) for n in node.output)
        nodes.append(copy)
    nodes += extra_nodes
    produced = {o.name: rename(o.name) for o in g.output}
    branch_outputs = []
    for o in outputs:
        source = produced.get(o.name, f"{tag}/{o.name}")
        branch_outputs.append(helper.make_tensor_value_info(source, o.type.tensor_type.elem_type, None))
    return helper.make_graph(nodes, f"{tag}_branch", [], branch_outputs, kept_inits)


def merge_decoders(no_past: onnx.ModelProto, with_past: onnx.ModelProto, heads: int, head_dim: int) -> onnx.ModelProto:
    shared_inits: dict[tuple, TensorProto] = {}
    shared_names: list[dict[str, str]] = [{}, {}]
    for index, model in enumerate((no_past, with_past)):
        for t in model.graph.initializer:
            if not _is_shared_initializer(t):
                continue
            key = (t.data_type, tuple(t.dims), hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest())
            if key not in shared_inits:
                copy = TensorProto()
                copy.CopyFrom(t)
                copy.name = f"shared_{len(shared_inits)}"
                shared_inits[key] = copy
            shared_names[index][t.name] = shared_inits[key].name

    outputs = list(no_past.graph.output)
    produced_with_past = {o.name for o in with_past.graph.output}
    constants = []
    for o in outputs:
        if o.name not in produced_with_past:
            empty = helper.make_tensor("empty", TensorProto.FLOAT, [0, heads, 1, head_dim], [])
            constants.append(helper.make_node("Constant", [], [f"past/{o.name}"], name=f"past/empty_{o.name}", value=empty))

    else_branch = _branch(no_past, "nopast", shared_names[0], outputs, [])
    then_branch = _branch(with_past, "past", shared_names[1], outputs, constants)
    inputs = {}
    for model in (no_past, with_past):
        for i in model.graph.input:
            inputs.setdefault(i.name, i)
    use_cache = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    if_node = helper.make_node("If", ["use_cache_branch"], [o.name for o in outputs], name="optimum::if",
                               then_branch=then_branch, else_branch=else_branch)
    graph = helper.make_graph([if_node], "merged", [*inputs.values(), use_cache], outputs, list(shared_inits.values()))
    merged = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="whisper-model-gen")
    merged.ir_version = no_past.ir_version
    onnx.checker.check_model(merged)
    return merged


def quantize_dynamic_int8(model: onnx.ModelProto) -> onnx.ModelProto:
    q = onnx.ModelProto()
    q.CopyFrom(model)
    inits = {t.name: t for t in q.graph.initializer}
    quantized: dict[str, tuple[str, str, str]] = {}
    uses_left: dict[str, int] = {}

    def count_uses(graph):
        for node in graph.node:
            for name in node.input:
                uses_left[name] = uses_left.get(name, 0) + 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    count_uses(attr.g)

    count_uses(q.graph)

    def weight(name: str) -> tuple[str, str, str]:
        if name not in quantized:
            w = numpy_helper.to_array(inits[name]).astype(np.float32)
            scale = np.float32(max(float(np.abs(w).max()), 1e-12) / 127.0)
            w_q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
            base = f"{name}_quantized"
            q.graph.initializer.extend([
                numpy_helper.from_array(w_q, base),
                numpy_helper.from_array(np.array(scale, dtype=np.float32), f"{base}_scale"),
                numpy_helper.from_array(np.array(0, dtype=np.int8), f"{base}_zero_point"),
            ])
            quantized[name] = (base, f"{base}_scale", f"{base}_zero_point")
        return quantized[name]

    def rewrite(graph):
        new_nodes = []
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    rewrite(attr.g)
            b = node.input[1] if node.op_type == "MatMul" else None
            if b is None or b not in inits or inits[b].data_type != TensorProto.FLOAT or len(inits[b].dims) != 2:
                new_nodes.append(node)
                continue
            w_q, w_scale, w_zp = weight(b)
            uses_left[b] -= 1
            p = f"{node.name or node.output[0]}/q"
            a = node.input[0]
            new_nodes += [
                helper.make_node("DynamicQuantizeLinear", [a], [f"{p}/a", f"{p}/a_scale", f"{p}/a_zp"], name=f"{p}/dql"),
                helper.make_node("MatMulInteger", [f"{p}/a", w_q, f"{p}/a_zp", w_zp], [f"{p}/int"], name=f"{p}/mmi"),
                helper.make_node("Cast", [f"{p}/int"], [f"{p}/float"], name=f"{p}/cast", to=TensorProto.FLOAT),
                helper.make_node("Mul", [f"{p}/a_scale", w_scale], [f"{p}/scale"], name=f"{p}/scale_mul"),
                helper.make_node("Mul", [f"{p}/float", f"{p}/scale"], [node.output[0]], name=f"{p}/out_mul"),
            ]
        del graph.node[:]
        graph.node.extend(new_nodes)

    rewrite(q.graph)
    unused = [t for t in q.graph.initializer if t.name in quantized and uses_left.get(t.name, 0) == 0]
    for t in unused:
        q.graph.initializer.remove(t)
    onnx.checker.check_model(q)
    return q
