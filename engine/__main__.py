"""Command line: ``python -m engine <task> ...`` (also installed as ``mowen-cli``).

Each task contributes a light module ``engine.<task>.cli`` with ``add_arguments(parser)``
and ``run(args) -> int``; those modules import torch only inside ``run`` so that
``--help`` stays instant.  Model errors print one clear line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine import __version__

# subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "ocr": ("engine.ocr.cli", "read printed Chinese text from images"),
    "segment": ("engine.segment.cli", "split Chinese text into words (BMES tagging + CRF)"),
    "couplet": ("engine.couplet.cli", "write lower lines (下联) for upper lines (上联)"),
    "attention": ("engine.attention.cli", "softmax alternatives, attention masks and maps"),
    "models": ("engine.models_cli", "list the shipped models and verify their files"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mowen-cli", description="Mowen (墨文) engine: local models for Chinese text.")
    parser.add_argument("--version", action="version", version=f"mowen {__version__}")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="compute device (default: CUDA when present, else CPU; env MOWEN_DEVICE)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that task is not built yet
            raise
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.add_argument("--device", choices=["cpu", "cuda"], default=argparse.SUPPRESS,
                                help="compute device (overrides the global --device)")
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from engine.device import DeviceError, set_device
    from engine.registry import ModelError

    try:
        if args.device:
            set_device(args.device)
        return int(args._run(args) or 0)
    except (ModelError, DeviceError) as exc:
        print(f"mowen-cli: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mowen-cli: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
