"""``python -m alignquiz``."""

from alignquiz.cli import main

if __name__ == "__main__":
    main()
