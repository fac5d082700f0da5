"""Fine-tuning with TRL and PEFT: SFT and DPO on the model the embedded backend runs."""
