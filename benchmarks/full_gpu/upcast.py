"""Upcast an fp16 safetensors file to fp32 in place (floating tensors only)."""
import sys
from safetensors.torch import load_file, save_file
path = sys.argv[1]
sd = load_file(path)
save_file({k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, path, metadata={"format": "pt"})
print("upcast to fp32:", path, len(sd), "tensors")
