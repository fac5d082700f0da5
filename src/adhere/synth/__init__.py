"""Synthesizing verifiable training prompts: seeds, constraint sampling, decontamination."""
