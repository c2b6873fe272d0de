"""The test users themselves: deleting one leaves nothing of theirs behind, the temporary folder included."""

from __future__ import annotations

import tempfile
from pathlib import Path

from support.unix_users import Users, require_root, run_as


def test_a_deleted_user_leaves_nothing_in_the_temporary_folder() -> None:
    """A killed grading service (SIGKILL, in the on-submit test) cannot remove its scratch folder: the test does."""
    require_root()
    temporary = Path(tempfile.gettempdir())
    users = Users()
    try:
        user = users.add("leaver")
        run_as(user, ["bash", "-c", "d=$(mktemp -d /tmp/autograder-XXXXXX) && mkdir -p $d/deep && touch $d/deep/f "
                                    "/tmp/left-by-$USER && ln -s /etc /tmp/link-by-$USER && echo $d"])
        assert any(entry.lstat().st_uid == user.uid for entry in temporary.iterdir())
    finally:
        users.close()
    assert not [entry for entry in temporary.iterdir() if entry.lstat().st_uid == user.uid]
    assert Path("/etc/passwd").is_file()  # a link was removed, not what it points to
