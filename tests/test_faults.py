"""Every scripted sandbox fault against the real client: the contract's exit code, one clear
message, no traceback, and never a second order."""

from __future__ import annotations

import pytest

from cart_cli.sandbox import Sandbox
from tests.helpers import (
    STALL,
    STALL_TIMEOUT,
    assert_no_secrets,
    cli,
    sandbox_orders,
    target,
    write_order,
)

MAY = "may or may not have been placed"


@pytest.fixture
def order_file(tmp_path):
    return write_order(tmp_path / "o.yaml")


def place_with_fault(sandbox, order_file, fault, *extra):
    return cli(
        ["place", order_file, *target(sandbox), "-H", f"x-sandbox-fault: {fault}", "--json", *extra]
    )


def one_error_line(r) -> str:
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.mark.parametrize("event", ["creating-cart", "item-added", "shipping-updated"])
def test_cut_before_order_placed_is_unknown_to_the_client_and_not_placed(
    cart_sandbox, order_file, event
):
    r = place_with_fault(cart_sandbox, order_file, f"cut-after:{event}")
    assert r.code == 8
    line = one_error_line(r)
    assert "ended before the order was confirmed" in line and MAY in line
    assert r.json()["error"]["outcome"] == "unknown"
    assert sandbox_orders(cart_sandbox) == []


def test_commit_then_cut_is_unknown_and_placed_exactly_once(cart_sandbox, order_file):
    r = place_with_fault(cart_sandbox, order_file, "commit-then-cut")
    assert r.code == 8 and MAY in one_error_line(r)
    assert len(sandbox_orders(cart_sandbox)) == 1


@pytest.mark.parametrize(
    ("fault", "body"), [("http-500-html", "an HTML page"), ("http-502-empty", "an empty body")]
)
def test_gateway_answers_without_api_error_are_unknown(cart_sandbox, order_file, fault, body):
    r = place_with_fault(cart_sandbox, order_file, fault)
    assert r.code == 8
    line = one_error_line(r)
    assert body in line and "no API error" in line and MAY in line
    assert sandbox_orders(cart_sandbox) == []


def test_store_unavailable_with_an_api_body_is_not_placed_exit_5(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "down.yaml", merchant="down.luma.gift")
    r = cli(["place", f, *target(cart_sandbox), "--no-sse"])  # 503 with an API error body
    assert r.code == 5 and "ErrorStoreUnavailable" in one_error_line(r)
    assert "order was not placed" in r.stderr


def test_stall_after_submission_times_out_as_unknown(cart_sandbox, order_file):
    r = place_with_fault(cart_sandbox, order_file, f"stall:{STALL}", "--timeout", STALL_TIMEOUT)
    assert r.code == 8
    line = one_error_line(r)
    assert "timed out" in line and MAY in line
    assert len(sandbox_orders(cart_sandbox)) <= 1  # the server went on; never a second one


def test_stall_without_sse_is_unknown_too(cart_sandbox, order_file):
    r = place_with_fault(
        cart_sandbox, order_file, f"stall:{STALL}", "--timeout", STALL_TIMEOUT, "--no-sse"
    )
    assert r.code == 8 and "timed out" in one_error_line(r)


def test_drip_fed_stream_succeeds(cart_sandbox, tmp_path):
    items = [
        {"variant_id": "WS12-XS-Orange", "quantity": 1},
        {"variant_id": "24-MB01", "quantity": 1},
    ]
    f = write_order(tmp_path / "o.yaml", items=items)
    r = place_with_fault(cart_sandbox, f, "drip")
    assert r.code == 0, r.stderr
    assert "item added 2/2" in r.stderr
    assert len(sandbox_orders(cart_sandbox)) == 1


def test_garbage_event_is_skipped_with_a_warning(cart_sandbox, order_file):
    r = place_with_fault(cart_sandbox, order_file, "garbage-event")
    assert r.code == 0, r.stderr
    assert "warning: skipped an unreadable shipping-updated event" in r.stderr
    assert r.json()["order"]["platform_order_number"] == "000000001"
    assert len(sandbox_orders(cart_sandbox)) == 1


def test_quiet_hides_progress_not_the_garbage_event_warning(cart_sandbox, order_file):
    r = place_with_fault(cart_sandbox, order_file, "garbage-event", "-q")
    assert r.code == 0, r.stderr
    said = r.stderr.splitlines()  # that one line, no progress
    assert len(said) == 1 and said[0].startswith(
        "warning: skipped an unreadable shipping-updated event"
    ), r.stderr


def test_token_expired_once_renews_and_places_exactly_one_order(
    cart_sandbox, order_file, cache_dir
):
    r = place_with_fault(cart_sandbox, order_file, "token-expired-once")
    assert r.code == 0, r.stderr
    assert len(sandbox_orders(cart_sandbox)) == 1


def test_token_refused_after_renewal_is_exit_6(order_file):
    # Every authenticated call refused: renew once, retry once, then give up with exit 6.
    import cart_cli.sandbox.state as state

    with Sandbox() as sb:
        original = sb.state.device_of

        def always_expired(header):
            original(header)
            raise state.SandboxError("InvalidToken", "The access token has expired")

        sb.state.device_of = always_expired
        r = cli(["place", order_file, *target(sb), "--json"])
        assert r.code == 6
        assert "InvalidToken" in one_error_line(r) and "even after renewal" in r.stderr
        assert sb.orders() == []


def test_rotated_key_is_fetched_again_and_the_card_reencrypted(cart_sandbox, order_file):
    r = place_with_fault(cart_sandbox, order_file, "rotate-key", "--debug")
    assert r.code == 0, r.stderr
    assert r.stderr.count("/api/v1/payment/key") >= 2
    assert len(sandbox_orders(cart_sandbox)) == 1


def test_whole_run_fault_with_embedded_sandbox(order_file):
    r = cli(["place", order_file, "--sandbox", "--sandbox-fault", "commit-then-cut"])
    assert r.code == 8 and MAY in one_error_line(r)
    r = cli(["place", order_file, "--sandbox", "--sandbox-fault", "nonsense"])
    assert r.code == 2 and "unknown sandbox fault" in r.stderr


def test_unknown_fault_header_is_a_validation_error(cart_sandbox, order_file):
    r = place_with_fault(cart_sandbox, order_file, "explode")
    assert r.code == 2 and "unknown sandbox fault" in one_error_line(r)


def test_oversized_answers_are_refused(cart_sandbox, order_file, monkeypatch):
    import cart_cli.core.client as client

    monkeypatch.setattr(client, "MAX_BODY", 64)  # the public key is bigger than that
    r = cli(["place", order_file, *target(cart_sandbox)])
    assert r.code == 5 and "larger than the 64-byte limit" in one_error_line(r)
    monkeypatch.setattr(client, "MAX_BODY", 8 << 20)
    monkeypatch.setattr(client, "MAX_STREAM", 256)  # the stream is bigger than that
    r = cli(["place", order_file, *target(cart_sandbox)])
    assert r.code == 8 and MAY in one_error_line(r)


def test_faults_leak_no_secrets(cart_sandbox, order_file, secret_card_file, cache_dir):
    outs = []
    for fault in ("commit-then-cut", "http-500-html", "garbage-event", "token-expired-once"):
        r = place_with_fault(cart_sandbox, order_file, fault, "--card", secret_card_file, "--debug")
        outs += [r.stdout, r.stderr]
    from tests.helpers import cached_tokens

    assert_no_secrets(*outs, paths=[cache_dir], tokens=cached_tokens(cache_dir))


# ---- transport: TLS ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A throwaway CA-less self-signed certificate for 127.0.0.1 and localhost."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cart-cli test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return d / "cert.pem", d / "key.pem"


def test_tls_is_verified_and_a_ca_bundle_can_be_given(order_file, tls_files, monkeypatch):
    import certifi

    cert, key = tls_files
    # Many CI images set this; it must not silently replace --ca-bundle (a requests quirk).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with Sandbox(ssl_certfile=str(cert), ssl_keyfile=str(key)) as sb:
        assert sb.url.startswith("https://")
        r = cli(["place", order_file, *target(sb)])
        assert r.code == 7
        assert "TLS verification failed for 127.0.0.1" in one_error_line(r)
        assert "--ca-bundle" in r.stderr
        r = cli(["place", order_file, *target(sb), "--ca-bundle", cert])
        assert r.code == 0, r.stderr
        assert len(sb.orders()) == 1


def test_missing_ca_bundle_is_a_usage_error(cart_sandbox, order_file, tmp_path):
    r = cli(["place", order_file, *target(cart_sandbox), "--ca-bundle", tmp_path / "nope.pem"])
    assert r.code == 2 and "--ca-bundle" in one_error_line(r)


def test_work_a_client_gave_up_on_lands_in_its_own_test(cart_sandbox, order_file):
    """The cart_sandbox fixture waits for such work before the next test starts."""
    r = place_with_fault(
        cart_sandbox, order_file, f"stall:{STALL}", "--timeout", STALL_TIMEOUT, "--no-sse"
    )
    assert r.code == 8
    assert cart_sandbox.busy() == 1  # the server is still stalling on the order
    assert cart_sandbox.wait_idle(30)
    assert cart_sandbox.busy() == 0 and len(sandbox_orders(cart_sandbox)) == 1
