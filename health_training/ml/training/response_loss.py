"""The SFT loop's `transformers.Trainer`: loss and evaluation loss on response tokens only, the
LM head run only where a token has a target. Built inside a function so importing this module
stays free of torch and transformers."""

from __future__ import annotations


def response_loss_trainer() -> type:
    """transformers' Trainer whose evaluation loss is the response-token loss of the report.

    The stock evaluation averages per-batch mean losses, so batches with few response tokens
    weigh as much as full ones, and its number differs from the report's test loss on the same
    model. Here every response token (and EOS) counts once, pooled over the whole eval set: the
    definition of `evaluation.LOSS_DEFINITION`, summed across processes under accelerate.
    """
    import torch
    from transformers import Trainer

    class ResponseLossTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            """The response-token loss, with the LM head run only where it has a target.

            Completion-only loss needs logits at the positions before a response token, about
            a third of a packed row; the stock loss projects every position onto the 49k-token
            vocabulary (a fifth of the model's matmuls and a 200 MB logits tensor a row) and
            then ignores most of it. Same loss, normalized as Trainer expects: by
            `num_items_in_batch` when given (gradient accumulation), else per batch.
            """
            targets = inputs["labels"][:, 1:]
            keep = (targets != -100).any(0).nonzero().flatten()
            outputs = model(
                input_ids=inputs["input_ids"],
                position_ids=inputs["position_ids"],
                logits_to_keep=keep,
            )
            picked = targets[:, keep]
            loss = torch.nn.functional.cross_entropy(
                outputs.logits.float().reshape(-1, outputs.logits.shape[-1]),
                picked.reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            count = num_items_in_batch if num_items_in_batch is not None else (picked != -100).sum()
            loss = loss / count
            return (loss, outputs) if return_outputs else loss

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            loader = self.get_eval_dataloader(eval_dataset)
            model = self.model
            was_training = model.training
            model.eval()
            totals = torch.zeros(2, dtype=torch.float64, device=self.args.device)
            with torch.no_grad():
                for batch in loader:
                    batch = self._prepare_inputs(batch)
                    logits = model(
                        input_ids=batch["input_ids"], position_ids=batch["position_ids"]
                    ).logits
                    labels = batch["labels"][:, 1:]
                    totals[0] += torch.nn.functional.cross_entropy(
                        logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                        labels.reshape(-1),
                        ignore_index=-100,
                        reduction="sum",
                    )
                    totals[1] += (labels != -100).sum()
            totals = self.accelerator.reduce(totals, reduction="sum")
            model.train(was_training)
            loss = float(totals[0] / totals[1]) if totals[1] > 0 else float("nan")
            metrics = {f"{metric_key_prefix}_loss": loss}
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(
                self.args, self.state, self.control, metrics
            )
            return metrics

    return ResponseLossTrainer
