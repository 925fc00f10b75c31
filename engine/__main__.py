"""Command line: ``python -m engine <task> ...`` (also installed as ``mowen-cli``).

Each task contributes a light module ``engine.<task>.cli`` with ``add_arguments(parser)``
and ``run(args) -> int``; those modules import torch only inside ``run`` so that
``--help`` stays instant.

Exit codes (every subcommand): 0 done; 1 some inputs were refused (see the subcommand's
help); 2 a usage error, or an input, output, option or model that cannot be used
(:class:`engine.errors.MowenError`): one line ``mowen: error: ...`` on stderr, no
traceback; 130 interrupted.  Any other exception is a bug and prints its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    parser = argparse.ArgumentParser(
        prog="mowen-cli", description="Mowen (墨文) engine: local models for Chinese text.",
        epilog="exit codes: 0 done; 1 some inputs refused (per subcommand); 2 usage error or an input, "
               "output, option or model that cannot be used (one line 'mowen: error: ...' on stderr); "
               "130 interrupted; a traceback means a bug")
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


class _Stdout:
    """sys.stdout, with a failed write (full disk, closed pipe) turned into one clear error."""

    def __init__(self, stream):
        self._stream = stream

    def _guard(self, call, *a):
        try:
            return call(*a)
        except BrokenPipeError:
            raise
        except OSError as exc:
            from engine.errors import OutputError

            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def write(self, text):
        return self._guard(self._stream.write, text)

    def flush(self):
        return self._guard(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from engine.device import DeviceError, set_device
    from engine.errors import MowenError, OutputError

    real_stdout, sys.stdout = sys.stdout, _Stdout(sys.stdout)
    try:
        if args.device:
            set_device(args.device)
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a full disk or closed pipe on stdout shows here, not at exit
        return code
    except (MowenError, DeviceError) as exc:
        if isinstance(exc, OutputError) and "standard output" in str(exc):
            sys.stdout = real_stdout
            _silence_stdout()
        message = " ".join(str(exc).split()) or type(exc).__name__  # one line, always
        print(f"mowen: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mowen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stdout = real_stdout
        _silence_stdout()
        return 0
    finally:
        sys.stdout = real_stdout


if __name__ == "__main__":
    sys.exit(main())
