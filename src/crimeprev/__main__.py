"""``python -m crimeprev`` runs the CLI."""

from crimeprev.cli.main import app

if __name__ == "__main__":
    app()
