"""Counting object downloads from a local S3 server's request log, by bucket and prefix."""

from __future__ import annotations

import json
from pathlib import Path

from lab.localforge.requestlog import RequestLog


def line(method: str, path: str, query: str = "", status: int = 200) -> str:
    return json.dumps({"method": method, "path": path, "query": query, "status": status,
                       "bytes": 10}) + "\n"  # fmt: skip


def test_object_gets_by_prefix_count_successful_get_object_only(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    log.write_text(
        line("GET", "/b/cd4ml-train/files/md5/ab/cd")
        + line("GET", "/b/cd4ml-train/chain/jenkins-x-1/data/train.csv")
        + line("GET", "/b/cd4ml-train/files/md5/ef/01", status=404)
        + line("HEAD", "/b/cd4ml-train/files/md5/ab/cd")
        + line("GET", "/b/cd4ml-train/files/md5/ab/cd", query="tagging")
        + line("GET", "/b", query="list-type=2&prefix=cd4ml-train/")
        + line("GET", "/other/cd4ml-train/files/md5/ab/cd")
    )
    requests = RequestLog(log)
    assert len(requests.object_gets("b")) == 2
    assert len(requests.object_gets("b", "cd4ml-train/")) == 2
    assert len(requests.object_gets("b", "cd4ml-train/chain/")) == 1
    assert len(requests.object_gets("b", "cd4ml-demo/")) == 0
    requests.reset()
    assert requests.object_gets("b", "cd4ml-train/") == []
