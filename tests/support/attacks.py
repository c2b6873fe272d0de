"""Attack code shared by the test batches (what a hostile submission runs in a cell)."""

# A fork bomb, run by a small helper process rather than the 1.5 GiB kernel (so that the process limit
# stops it, not the memory watchdog): up to 3000 forks, each child becoming `sleep 30` named argv[2].
# Run as ``python -c FORK_BOMB_HELPER /path/to/sleep NAME``; prints "FORKS <n> of 3000, stopped by <error>".
FORK_BOMB_HELPER = r"""
import os, sys
sleep = sys.argv[1]
ok, stopped = 0, "nothing"
for attempt in range(3000):
    try:
        pid = os.fork()
    except OSError as error:
        stopped = type(error).__name__
        break
    if pid == 0:
        try:
            os.closerange(0, 64)
            os.execv(sleep, [sys.argv[2], "30"])
        finally:
            os._exit(0)
    ok += 1
print(f"FORKS {ok} of 3000, stopped by {stopped}", flush=True)
"""
