"""Unit tests of the ``fsq://`` broker transport (config/broker/filesystem.py).

Plain kombu connections on temporary folders: no Celery worker, no Django, no database.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection, Exchange, Queue

from config.broker import filesystem as fsq
from config.broker import register_transports

register_transports()


def connect(root: Path, **options) -> Connection:
    return Connection(f"fsq://{root.as_posix()}", transport_options={"polling_interval": 0.01, **options})


def messages_in(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".msg"))


@pytest.fixture
def broker(tmp_path: Path) -> Path:
    return tmp_path / "broker"


class TestUrlToFolders:
    def test_absolute_url_names_the_folder(self, broker: Path) -> None:
        assert fsq.BrokerLayout.from_url(f"fsq://{broker.as_posix()}").root == broker

    def test_relative_url_is_resolved_against_the_cwd(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        assert fsq.BrokerLayout.from_url("fsq://var/broker").root == tmp_path / "var" / "broker"

    def test_url_without_folder_is_refused(self) -> None:
        with pytest.raises(ValueError, match="needs a folder"):
            fsq.BrokerLayout.from_url("fsq://")

    def test_connection_resolves_fsq_to_our_transport_with_its_folders(self, broker: Path) -> None:
        with connect(broker) as conn:
            channel = conn.default_channel
            assert isinstance(conn.transport, fsq.Transport)
            assert conn.as_uri() == f"fsq://{broker.as_posix()}"
            assert channel.data_folder_in == channel.data_folder_out == broker / "queue"
            assert channel.processed_folder == broker / "processed"
            assert channel.bad_folder == broker / "bad"
            assert channel.control_folder == broker / "control"
            assert channel.store_processed is False
        for leaf in ("queue", "processed", "bad", "control"):
            assert (broker / leaf).is_dir()

    def test_processed_folder_is_not_the_queue_folder(self, broker: Path) -> None:
        with connect(broker) as conn:
            channel = conn.default_channel
            assert channel.processed_folder.resolve() != channel.data_folder_in.resolve()

    def test_processed_folder_equal_to_queue_folder_is_refused(self, broker: Path) -> None:
        with connect(broker, processed_folder=str(broker / "queue")) as conn, pytest.raises(ValueError):
            conn.default_channel  # noqa: B018 - creating the channel is what validates the folders

    def test_default_polling_interval_is_small_and_overridable(self, broker: Path) -> None:
        with Connection(f"fsq://{broker.as_posix()}") as conn:
            assert conn.transport.polling_interval == fsq.DEFAULT_POLLING_INTERVAL == 0.05
        with connect(broker, polling_interval=0.2) as conn:
            assert conn.transport.polling_interval == 0.2

    def test_transport_options_override_folders(self, broker: Path, tmp_path: Path) -> None:
        with connect(broker, processed_folder=str(tmp_path / "elsewhere")) as conn:
            assert conn.default_channel.processed_folder == tmp_path / "elsewhere"
        assert (tmp_path / "elsewhere").is_dir()


class TestRoundTrip:
    def test_publish_then_consume_in_order(self, broker: Path) -> None:
        with connect(broker) as conn:
            queue = conn.SimpleQueue("jobs")
            for n in range(5):
                queue.put({"n": n})
            assert len(messages_in(broker / "queue")) == 5
            received = []
            for _ in range(5):
                message = queue.get(timeout=2)
                received.append(message.payload["n"])
                message.ack()
            with pytest.raises(Empty):
                queue.get(timeout=0.05)
            queue.close()
        assert received == [0, 1, 2, 3, 4]
        assert os.listdir(broker / "queue") == []
        assert os.listdir(broker / "processed") == []  # store_processed is off: nothing kept on disk

    def test_store_processed_keeps_consumed_messages_out_of_the_queue_folder(self, broker: Path) -> None:
        with connect(broker, store_processed=True) as conn:
            queue = conn.SimpleQueue("jobs")
            queue.put({"n": 1})
            queue.get(timeout=2).ack()
            queue.close()
        assert len(messages_in(broker / "processed")) == 1
        assert os.listdir(broker / "queue") == []

    def test_fsync_option_round_trips(self, broker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        synced = []
        real_fsync = os.fsync
        monkeypatch.setattr(fsq.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
        with connect(broker, fsync=True) as conn:
            queue = conn.SimpleQueue("jobs")
            queue.put({"n": 1})
            assert queue.get(timeout=2).payload == {"n": 1}
            queue.close()
        assert len(synced) >= 2  # the message file and the folder holding its new name

    def test_queue_name_cannot_leave_the_folder(self, broker: Path) -> None:
        with connect(broker) as conn, pytest.raises(Exception, match="Invalid queue name"):
            conn.default_channel._put("../escape", {"properties": {"delivery_tag": "x"}})


class TestAtomicPublish:
    def test_temporary_file_is_never_visible_as_a_message(self, broker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        seen_before_rename: list[list[str]] = []
        real_replace = os.replace

        with connect(broker) as publisher, connect(broker) as consumer:
            queue = consumer.SimpleQueue("jobs")

            def spying_replace(source, target):
                # The payload is fully written at this point, but not yet published.
                names = os.listdir(broker / "queue")
                seen_before_rename.append(names)
                assert not any(fsq.is_message_of(name, "jobs") for name in names)
                # kombu's own consumer test (partition on the first dot) would not pick it either.
                assert not any(name.partition(".")[2] == "jobs.msg" for name in names)
                with pytest.raises(Empty):
                    consumer.default_channel._get("jobs")
                return real_replace(source, target)

            monkeypatch.setattr(fsq.os, "replace", spying_replace)
            publisher.SimpleQueue("jobs").put({"n": 1})
            monkeypatch.undo()

            assert queue.get(timeout=2).payload == {"n": 1}
            queue.close()

        [names] = seen_before_rename
        [temporary] = names
        assert temporary.startswith(".") and temporary.endswith(fsq.TEMP_SUFFIX)

    def test_failed_write_leaves_no_file_behind(self, broker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        with connect(broker) as conn:
            channel = conn.default_channel

            def failing_replace(source, target):
                raise OSError("disk full")

            monkeypatch.setattr(fsq.os, "replace", failing_replace)
            with pytest.raises(Exception, match="Cannot add message"):
                channel._put("jobs", {"properties": {"delivery_tag": "x"}})
        assert os.listdir(broker / "queue") == []


class TestRobustConsume:
    @pytest.mark.parametrize(
        "content",
        [b"", b'{"body": "trunc', b"\xff\xfe not utf-8", b"[1, 2]", b'{"body": "no properties"}'],
        ids=["empty", "partial-json", "not-utf8", "not-a-dict", "not-a-kombu-message"],
    )
    def test_bad_message_is_quarantined_and_consumption_continues(
        self, broker: Path, content: bytes, caplog: pytest.LogCaptureFixture
    ) -> None:
        with connect(broker) as conn:
            queue = conn.SimpleQueue("jobs")
            # Sorts before anything published now, so it is claimed first.
            bad_name = f"{0:020d}_corrupt.jobs.msg"
            (broker / "queue" / bad_name).write_bytes(content)
            queue.put({"n": 1})
            with caplog.at_level(logging.ERROR, logger=fsq.__name__):
                message = queue.get(timeout=2)
            assert message.payload == {"n": 1}
            message.ack()
            queue.close()
        assert os.listdir(broker / "bad") == [bad_name]
        assert (broker / "bad" / bad_name).read_bytes() == content  # kept for inspection
        assert os.listdir(broker / "queue") == []
        assert "Quarantined broker message" in caplog.text

    def test_message_taken_by_another_consumer_is_skipped(self, broker: Path) -> None:
        with connect(broker) as first, connect(broker) as second:
            queue = first.SimpleQueue("jobs")
            queue.put({"n": 1})
            queue.put({"n": 2})
            # The second consumer lists both files, then the first consumer takes the oldest.
            second_channel = second.default_channel
            second_channel._backlogs["jobs"] = fsq.deque(second_channel._scan("jobs"))
            assert first.default_channel._get("jobs")["properties"]
            payload = second_channel._get("jobs")
            assert second.default_channel.Message(payload, channel=second_channel).decode() == {"n": 2}
            with pytest.raises(Empty):
                second_channel._get("jobs")
            queue.close()

    def test_concurrent_consumers_receive_every_message_exactly_once(self, broker: Path) -> None:
        total, consumers = 400, 4
        with connect(broker) as conn:
            queue = conn.SimpleQueue("jobs")
            for n in range(total):
                queue.put(n)
            queue.close()

        received: list[int] = []
        lock = threading.Lock()

        def consume() -> None:
            with connect(broker) as conn:
                queue = conn.SimpleQueue("jobs")
                while True:
                    try:
                        message = queue.get(timeout=0.2)
                    except Empty:
                        break
                    with lock:
                        received.append(message.payload)
                    message.ack()
                queue.close()

        threads = [threading.Thread(target=consume) for _ in range(consumers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(received) == list(range(total))
        assert os.listdir(broker / "bad") == []

    def test_vanished_broker_folder_is_recreated_by_the_publisher(self, broker: Path) -> None:
        with connect(broker) as conn:
            queue = conn.SimpleQueue("jobs")
            (broker / "queue").rmdir()
            queue.put({"n": 1})
            assert queue.get(timeout=2).payload == {"n": 1}
            queue.close()

    def test_vanished_broker_folder_is_recreated_instead_of_raising(self, broker: Path) -> None:
        with connect(broker) as conn:
            channel = conn.default_channel
            (broker / "queue").rmdir()
            with pytest.raises(Empty):
                channel._get("jobs")
        assert (broker / "queue").is_dir()


class TestExchangeTables:
    def test_fanout_reaches_every_bound_queue(self, broker: Path) -> None:
        exchange = Exchange("broadcast", type="fanout")
        with connect(broker) as conn:
            channel = conn.channel()
            queues = [Queue(name, exchange)(channel) for name in ("one", "two")]
            for queue in queues:
                queue.declare()
            conn.Producer(channel).publish({"hello": "all"}, exchange=exchange)
            assert [queue.get(no_ack=True).payload for queue in queues] == [{"hello": "all"}] * 2
            channel.close()

    def test_fanout_works_in_a_second_folder_of_the_same_process(self, tmp_path: Path) -> None:
        # kombu's process-wide broker state skipped the second binding as "already bound".
        exchange = Exchange("broadcast", type="fanout")
        for root in (tmp_path / "a", tmp_path / "b"):
            with connect(root) as conn:
                channel = conn.channel()
                queue = Queue("listener", exchange)(channel)
                queue.declare()
                conn.Producer(channel).publish({"root": root.name}, exchange=exchange)
                assert queue.get(no_ack=True).payload == {"root": root.name}
                channel.close()

    def test_empty_or_corrupt_table_reads_as_no_bindings(self, broker: Path) -> None:
        with connect(broker) as conn:
            channel = conn.default_channel
            table = broker / "control" / "broadcast.exchange"
            table.write_bytes(b"")
            assert channel.get_table("broadcast") == []
            table.write_bytes(b"[[")
            assert channel.get_table("broadcast") == []
            channel._queue_bind("broadcast", "", "", "listener")
            assert channel.get_table("broadcast") == [("", "", "listener")]

    def test_binding_is_written_once_and_removed_on_delete(self, broker: Path) -> None:
        with connect(broker) as conn:
            channel = conn.default_channel
            channel._queue_bind("broadcast", "", "", "listener")
            channel._queue_bind("broadcast", "", "", "listener")
            channel._queue_bind("broadcast", "", "", "other")
            assert channel.get_table("broadcast") == [("", "", "other"), ("", "", "listener")]
            channel._delete("listener", "broadcast", "", "")
            assert channel.get_table("broadcast") == [("", "", "other")]
