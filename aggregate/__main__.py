from .cli import main
from .errors import end_process

if __name__ == "__main__":  # not when a spawned worker process imports this module
    end_process(main())
