"""Couplets (对联): write lower lines (下联) for upper lines (上联) under the rules of 对仗.

``generate_couplet(upper, ...) -> CoupletResult`` (engine.couplet.decode) is the entry point;
models load through the registry (``engine.couplet.model:load_cnn`` / ``load_bert``).
Importing this package is light: torch loads only with the model module.
"""

__all__ = ["generate_couplet", "CoupletResult", "Candidate", "check_rules", "InvalidLine"]


def __getattr__(name):
    if name in ("generate_couplet", "CoupletResult", "Candidate"):
        from engine.couplet import decode

        return getattr(decode, name)
    if name in ("check_rules", "InvalidLine"):
        from engine.couplet import rules

        return getattr(rules, name)
    raise AttributeError(name)
