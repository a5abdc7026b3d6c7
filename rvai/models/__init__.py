"""LLM decoder layers composed of rvai kernels: Qwen configs, the layer, its float64 oracle, cost prediction.

- :mod:`rvai.models.configs`: model shapes from each model's published config.json.
- :mod:`rvai.models.layer`: :class:`DecoderLayer` (random weights, KV cache), every step an rvai.ops call.
- :mod:`rvai.models.reference`: the same layer in NumPy float64, the tests' oracle.
- :mod:`rvai.models.costs`: per-operator cycles/FLOPs/bytes, sampling of big operators, the roofline.
- :mod:`rvai.models.predict`: a whole model's time per token from one layer plus embedding and LM head.
"""
from rvai.models.configs import CONFIGS, QwenConfig, get
from rvai.models.costs import Costs, OpCost, Roofline
from rvai.models.layer import DecoderLayer, KVCache, LayerWeights
from rvai.models.reference import reference_layer

__all__ = ["CONFIGS", "QwenConfig", "get", "Costs", "OpCost", "Roofline", "DecoderLayer", "KVCache",
           "LayerWeights", "reference_layer"]
