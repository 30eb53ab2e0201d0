"""The concept each check teaches, for the class report: an instructor reads the pass rates
grouped by concept and sees what to teach again.

A wire check is named by its slug, an API check by its suite ("api.SUITE"). A test keeps this
table and the labs' checks in step: every check has a concept, and no entry names a check
that does not exist.
"""

from __future__ import annotations

SENDING = "sending datagrams"
RECEIVING = "receiving datagrams"
BYTE_ORDER = "byte order (htons, ntohs, big-endian)"
ADDRESSES = "addresses (getaddrinfo, sockaddr_in)"
BINDING = "binding and ports"
BOUNDARIES = "message boundaries"
LARGE = "large data and truncation"
BROADCAST = "broadcast"
TIMEOUTS = "timeouts (poll)"
BYTES = "bytes and text (binary data, UTF-8, JSON)"
CONCURRENCY = "serving several peers at once"
STREAMS = "TCP streams (connect, listen, accept)"
SHORT_IO = "short sends and receives"
CLOSING = "closing, EOF and half-close"
ERRORS = "errors and signals"
FRAMING = "framing a byte stream"
FILES = "file transfer"
UNTRUSTED = "untrusted input"
WINSOCK = "Winsock and portability"
OTHER = "other"

CONCEPTS: dict[str, dict[str, str]] = {
    "01_udp_send": {
        "send_exact_bytes": SENDING,
        "send_port_byte_order": BYTE_ORDER,
        "lines_one_datagram_each": BOUNDARIES,
        "lines_one_source_port": BINDING,
        "lines_empty_line": BOUNDARIES,
        "lines_stop": SENDING,
        "lines_utf8": BYTES,
        "ask_reply_and_sender": ADDRESSES,
        "ask_large_reply": LARGE,
        "ask_times_out": TIMEOUTS,
        "broadcast_loopback": BROADCAST,
        "broadcast_lan": BROADCAST,
        "api.udp_make_addr": ADDRESSES,
        "api.udp_send_once": SENDING,
        "api.udp_send_lines": BOUNDARIES,
        "api.udp_request": TIMEOUTS,
        "api.udp_broadcast": BROADCAST,
    },
    "02_udp_bind": {
        "recv_port_0": BINDING,
        "recv_given_port": BYTE_ORDER,
        "recv_two_senders": ADDRESSES,
        "recv_large": LARGE,
        "recv_empty": BOUNDARIES,
        "recv_too_large": LARGE,
        "recv_broadcast": BROADCAST,
        "recv_lan": BROADCAST,
        "recv_count": RECEIVING,
        "recv_port_taken": BINDING,
        "echo_two_clients": ADDRESSES,
        "echo_binary": BYTES,
        "echo_empty": BOUNDARIES,
        "echo_upper": BYTES,
        "echo_stops_on_signal": ERRORS,
        "whoami_port": BINDING,
        "chat_sends_json": BYTES,
        "chat_prints_incoming": CONCURRENCY,
        "chat_large_message": LARGE,
        "chat_invalid": UNTRUSTED,
        "chat_stop_eof": CLOSING,
        "api.udp_bind": BINDING,
        "api.udp_local_port": BINDING,
        "api.udp_implicit_port": BINDING,
        "api.udp_recv_from": RECEIVING,
        "api.udp_echo_serve": RECEIVING,
        "api.udp_chat": BYTES,
    },
    "03_tcp": {
        "echo_line": STREAMS,
        "upper": BYTES,
        "echo_large": SHORT_IO,
        "idle_client": CONCURRENCY,
        "many_clients": CONCURRENCY,
        "client_vanishes": ERRORS,
        "disconnect_on_eof": CLOSING,
        "server_closes_on_eof": CLOSING,
        "restart_same_port": BINDING,
        "connected_lines": ADDRESSES,
        "stops_on_sigterm": ERRORS,
        "reachable_on_lan": BINDING,
        "client_chat": BOUNDARIES,
        "client_exit": STREAMS,
        "client_server_closed": CLOSING,
        "client_refused": ERRORS,
        "send_half_close": CLOSING,
        "api.tcp_listen": BINDING,
        "api.tcp_connect": STREAMS,
        "api.send_all": SHORT_IO,
        "api.recv_line": BOUNDARIES,
        "api.tcp_echo_session": STREAMS,
        "api.tcp_echo_serve": CONCURRENCY,
    },
    "04_sticky_packets": {
        "echo_glued": FRAMING,
        "echo_dribble": FRAMING,
        "echo_random_cuts": FRAMING,
        "echo_empty_frame": FRAMING,
        "echo_frame_max": LARGE,
        "prefix_big_endian": BYTE_ORDER,
        "oversized_closes": UNTRUSTED,
        "echo_many_clients": CONCURRENCY,
        "echo_upper": BYTES,
        "client_lines": FRAMING,
        "client_server_closes": CLOSING,
        "send_file": FILES,
        "send_empty_file": FILES,
        "send_three_files": FILES,
        "send_rejected": FILES,
        "send_receiver_vanishes": ERRORS,
        "recv_file": FILES,
        "recv_binary_and_empty": FILES,
        "recv_large_file": LARGE,
        "recv_streams_to_disk": LARGE,
        "recv_three_files": FILES,
        "recv_chinese_name": BYTES,
        "recv_bad_names": UNTRUSTED,
        "recv_md5_mismatch": UNTRUSTED,
        "recv_cut_short": FILES,
        "recv_size_over_4_gib": LARGE,
        "recv_header_too_large": UNTRUSTED,
        "api.recv_exact": SHORT_IO,
        "api.frame_send": FRAMING,
        "api.frame_recv": FRAMING,
        "api.frame_echo_session": FRAMING,
        "api.ft_send_file": FILES,
        "api.ft_recv_file": FILES,
    },
    "05_winsock": {
        "win_starts": WINSOCK,
        "win_echo_line": STREAMS,
        "win_echo_large": SHORT_IO,
        "win_clients_in_turn": STREAMS,
        "win_closes": CLOSING,
        "win_client_reply": CLOSING,
        "win_client_large_reply": LARGE,
        "win_refused": ERRORS,
        "win_error_line": WINSOCK,
        "linux_echo_line": STREAMS,
        "linux_echo_large": SHORT_IO,
        "linux_clients_in_turn": STREAMS,
        "linux_closes": CLOSING,
        "linux_client_reply": CLOSING,
        "linux_client_large_reply": LARGE,
        "linux_refused": ERRORS,
        "api.sock_init": WINSOCK,
        "api.sock_cleanup": WINSOCK,
        "api.sock_close": WINSOCK,
        "api.sock_error": WINSOCK,
        "api.sock_strerror": WINSOCK,
        "api.wecho_listen": BINDING,
        "api.wecho_connect": STREAMS,
        "api.wecho_session": STREAMS,
        "api.wecho_request": CLOSING,
    },
}


def key(lab: str, check_id: str) -> str:
    """The table's key for a check id: LAB.SLUG is SLUG, LAB.api.SUITE.TEST is api.SUITE."""
    rest = check_id.removeprefix(f"{lab}.")
    if rest.startswith("api."):
        return ".".join(rest.split(".")[:2])
    return rest


def concept_of(lab: str, check_id: str) -> str:
    """The concept a check teaches; OTHER for a check this table does not know (a result
    written by another version of the grader)."""
    return CONCEPTS.get(lab, {}).get(key(lab, check_id), OTHER)
