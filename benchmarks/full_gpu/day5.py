"""Day 5 (SST-2) on a GPU: the notebook's pipeline with the 'full' sizes and the MiniLM stand-in.

full (notebook SIZES): n_train=None (all of train less n_val=2000 held out), 3 epochs, batch 32,
max_length 128, AdamW wd 0.01, linear warm-up 10 % then decay, grad clip 1.0, AMP (bf16 on CUDA
through training.fit), word embeddings trained (not frozen). The notebook's full lr (1e-5) is for
DistilBERT; here the learning rates of the brief (2e-5..5e-5) are run, and the one with the best
accuracy on the held-out 2,000 training sentences (not dev) is the headline.

Usage: python day5.py --lrs 5e-5,3e-5,2e-5 --budget 480 [--tiny]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

from common import LoggedLoader, environment, history_records, log, out_dir, write_json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lrs", default="5e-5,3e-5,2e-5")
    p.add_argument("--budget", type=float, default=480.0, help="seconds this script may use in all")
    p.add_argument("--tiny", action="store_true", help="CPU dry run: a few hundred sentences, 1 epoch")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    start = time.perf_counter()

    import transformers
    from applied_mlx import env
    from applied_mlx import sentiment as S
    from applied_mlx.metrics import accuracy_from_logits, classification_metrics, expected_calibration_error
    from applied_mlx.training import fit

    transformers.logging.set_verbosity_error()
    device = env.get_device()
    SEED = env.seed_everything(0)
    sizes = dict(n_train=None, n_val=2000, num_epochs=3, batch_size=32, max_length=128)
    if args.tiny:
        sizes.update(n_train=300, n_val=100, num_epochs=1)
    WARMUP_RATIO, WEIGHT_DECAY = 0.1, 0.01
    MODEL_NAME = S.STANDIN_MODEL
    lrs = [float(x) for x in args.lrs.split(",")]
    out_path = Path(args.out) if args.out else out_dir() / "day5.json"
    result = {"day": 5, "task": "SST-2 sentiment", "environment": environment(), "profile": "full",
              "model": MODEL_NAME, "standin_for": S.DEFAULT_MODEL,
              "weights_note": "all-MiniLM-L6-v2 weights travelled as an fp16 copy of model.safetensors and were "
                              "upcast to fp32 before loading: a faithful copy up to fp16 rounding "
                              "(max abs weight error 9.8e-4; sentence-embedding cosine to the fp32 original >= 0.9999995)",
              "sizes": sizes, "recipe": {"optimizer": "AdamW", "weight_decay": WEIGHT_DECAY, "warmup_ratio": WARMUP_RATIO,
                                         "schedule": "linear warm-up then linear decay, per batch", "grad_clip": 1.0,
                                         "amp": "training.fit default on CUDA (bf16 where supported)",
                                         "freeze_word_embeddings": False, "lrs_tried": lrs,
                                         "selection": "best val_accuracy on the 2,000 held-out training sentences"},
              "runs": {}, "tiny_dry_run": args.tiny}

    train_all, dev = S.load_sst2()
    if args.tiny:
        dev = dev.iloc[:128].reset_index(drop=True)
    shuffled = train_all.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    val = shuffled.iloc[:sizes["n_val"]].reset_index(drop=True)
    train = shuffled.iloc[sizes["n_val"]:].reset_index(drop=True)
    if sizes["n_train"] is not None:
        train = train.iloc[:sizes["n_train"]].reset_index(drop=True)
    result["data"] = {"name": "SST-2 (GLUE)", "train_rows_total": len(train_all), "n_train": len(train),
                      "n_val": len(val), "n_dev": len(dev)}
    log(f"train {len(train)}, val {len(val)}, dev {len(dev)} on {device}")

    t = time.perf_counter()
    baseline = S.tfidf_baseline(train.sentence, train.label)
    baseline_prob = baseline.predict_proba(dev.sentence)
    bm = classification_metrics(dev.label.values, y_prob=baseline_prob)
    bm["ece"] = expected_calibration_error(dev.label.values, baseline_prob)
    result["baseline_tfidf_lr"] = {**bm, "seconds_cpu": time.perf_counter() - t}
    log("baseline", {k: round(v, 4) for k, v in bm.items()})
    write_json(out_path, result)

    best = None
    run_seconds = []
    for lr in lrs:
        elapsed = time.perf_counter() - start
        if run_seconds and elapsed + 1.15 * max(run_seconds) > args.budget:
            log(f"skip lr {lr}: {elapsed:.0f} s used, a run takes ~{max(run_seconds):.0f} s, budget {args.budget:.0f} s")
            result["runs"][f"{lr:g}"] = {"skipped": "time budget"}
            continue
        t_run = time.perf_counter()
        torch.manual_seed(SEED)
        model, tokenizer = S.load_text_classifier(MODEL_NAME, S.LABEL_NAMES)
        n_params = S.count_parameters(model)
        t = time.perf_counter()
        train_loader = S.text_loader(train.sentence, train.label, tokenizer, max_length=sizes["max_length"],
                                     batch_size=sizes["batch_size"], shuffle=True, seed=SEED)
        val_loader = S.text_loader(val.sentence, val.label, tokenizer, max_length=sizes["max_length"], batch_size=64)
        tokenize_s = time.perf_counter() - t
        optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=lr,
                                      weight_decay=WEIGHT_DECAY)
        steps = sizes["num_epochs"] * len(train_loader)
        scheduler = S.linear_warmup_scheduler(optimizer, num_training_steps=steps, warmup_ratio=WARMUP_RATIO)
        fitres = fit(model, LoggedLoader(train_loader, f"lr={lr:g}", every=500), val_loader, optimizer=optimizer,
                     scheduler=scheduler, scheduler_interval="batch", num_epochs=sizes["num_epochs"],
                     metrics={"accuracy": accuracy_from_logits}, monitor="val_accuracy", grad_clip=1.0,
                     device=device, seed=SEED, progress=False)
        log(f"lr {lr:g}: {fitres}")
        t = time.perf_counter()
        dev_logits = S.predict_logits(model, tokenizer, dev.sentence.tolist(), max_length=sizes["max_length"],
                                      batch_size=64, device=device)
        dev_infer_s = time.perf_counter() - t
        dev_prob = S.softmax_with_temperature(dev_logits)
        mm = classification_metrics(dev.label.values, y_prob=dev_prob)
        mm["ece"] = expected_calibration_error(dev.label.values, dev_prob)
        val_logits = S.predict_logits(model, tokenizer, val.sentence.tolist(), max_length=sizes["max_length"],
                                      batch_size=64, device=device)
        temperature = S.fit_temperature(val_logits, val.label.values)
        before = S.calibration_summary(dev.label.values, dev_logits, 1.0)
        after = S.calibration_summary(dev.label.values, dev_logits, temperature)
        run = {"lr": lr, "dev": mm, "val_accuracy_best": fitres.best_score, "best_epoch": fitres.best_epoch,
               "epochs_run": len(fitres.history), "history": history_records(fitres),
               "train_seconds": fitres.seconds, "train_steps": steps,
               "ms_per_step": 1000 * fitres.seconds / steps, "tokenize_seconds": tokenize_s,
               "dev_inference_seconds": dev_infer_s, "run_seconds": time.perf_counter() - t_run,
               "params": n_params,
               "calibration": {"temperature": temperature, "ece_before": before["ece"], "ece_after": after["ece"],
                               "nll_before": before["nll"], "nll_after": after["nll"],
                               "temperature_used": bool(after["ece"] < before["ece"])}}
        result["runs"][f"{lr:g}"] = run
        run_seconds.append(run["run_seconds"])
        log(f"lr {lr:g}: dev {({k: round(v, 4) for k, v in mm.items()})}, val best {fitres.best_score:.4f}")
        if best is None or fitres.best_score > best[0]:
            best = (fitres.best_score, lr, copy.deepcopy(model).to("cpu"), tokenizer, dev_logits)
        del model, optimizer
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        write_json(out_path, result)

    if best is not None:
        _, lr, model_cpu, tokenizer, dev_logits = best
        result["selected_lr"] = lr
        result["selected"] = result["runs"][f"{lr:g}"]
        t = time.perf_counter()
        # per-tensor, as in the recorded H100 run (day5.json); the component's default is now per-token
        model_int8 = S.quantize_int8(model_cpu.eval(), activations="per_tensor")
        int8_logits = S.predict_logits(model_int8, tokenizer, dev.sentence.tolist(), max_length=sizes["max_length"],
                                       batch_size=64)
        fp32_cpu_logits = S.predict_logits(model_cpu, tokenizer, dev.sentence.tolist(), max_length=sizes["max_length"],
                                           batch_size=64)
        y = dev.label.values
        result["int8_cpu"] = {"accuracy": float(np.mean(int8_logits.argmax(1) == y)),
                              "accuracy_fp32_cpu": float(np.mean(fp32_cpu_logits.argmax(1) == y)),
                              "accuracy_gpu_amp": float(np.mean(dev_logits.argmax(1) == y)),
                              "agreement_with_fp32": float(np.mean(int8_logits.argmax(1) == fp32_cpu_logits.argmax(1))),
                              "weights_mb_fp32": S.weights_megabytes(model_cpu),
                              "weights_mb_int8": S.weights_megabytes(model_int8),
                              "seconds": time.perf_counter() - t,
                              "note": "per-channel dynamic int8 on the device's CPU, batch 64, selected model"}
        log("int8", result["int8_cpu"])
    result["published"] = {"DistilBERT (paper) dev acc": 0.913, "DistilBERT (HF eval) acc/F1/AUC": [0.911, 0.914, 0.972],
                           "BERT-base": 0.927, "BERT-Small 29M (GLUE test)": 0.897, "BERT-Mini 11M (GLUE test)": 0.859}
    result["script_seconds"] = time.perf_counter() - start
    write_json(out_path, result)


if __name__ == "__main__":
    main()
