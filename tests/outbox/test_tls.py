"""SMTP over TLS: ``smtps://`` (implicit TLS) and ``smtp://…?starttls=1``, with the
server certificate verified; plus how SMTP URLs are read.

Rules: AUD-5 (delivery; a failed TLS handshake leaves the email queued) and
the no-secrets rule (credentials only ever cross an encrypted channel here).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult

from engine.outbox.smtp import SmtpUrlError, parse_smtp_url, send_pending
from engine.service import disbursements
from engine.service.disbursements import PaymentLine
from tests.world import build_world

from .conftest import Collector, SmtpServer, free_port

PASSWORD = "tls-Only-p4ss"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1, made in-process (cryptography)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return ctx


def _auth(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
    return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)


def _queue_three(svc) -> None:
    w = build_world(svc)
    disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                      payments=[PaymentLine(w.invoice("1000.00"))])


@pytest.mark.rule("AUD-5")
def test_starttls_upgrades_before_authenticating_and_verifies_the_certificate(
        svc, clock, certificate, monkeypatch) -> None:
    """AUD-5 over ``?starttls=1``: the relay requires STARTTLS before AUTH; with its CA trusted
    the three emails go out; with an untrusted certificate nothing is sent and they wait."""
    server = SmtpServer(free_port(), Collector()).start(
        tls_context=_server_context(certificate), require_starttls=True, authenticator=_auth,
        auth_require_tls=True)
    try:
        _queue_three(svc)
        url = f"smtp://mailer:{PASSWORD}@127.0.0.1:{server.port}?starttls=1"
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        untrusted = send_pending(svc, url)
        assert (untrusted.sent, untrusted.failed) == (0, 3)
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error and PASSWORD not in untrusted.error
        assert server.messages == []

        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        clock.advance(minutes=1)
        trusted = send_pending(svc, url)
        assert (trusted.sent, trusted.failed) == (3, 0)
        assert len(server.messages) == 3
    finally:
        server.stop()


@pytest.mark.rule("AUD-5")
def test_smtps_implicit_tls(svc, clock, certificate, monkeypatch) -> None:
    """AUD-5 over ``smtps://``: TLS from the first byte, then AUTH, then delivery."""
    server = SmtpServer(free_port(), Collector()).start(
        ssl_context=_server_context(certificate), authenticator=_auth, auth_require_tls=False)
    try:
        _queue_three(svc)
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        report = send_pending(svc, f"smtps://mailer:{PASSWORD}@127.0.0.1:{server.port}")
        assert (report.sent, report.failed) == (3, 0)
        assert len(server.messages) == 3
    finally:
        server.stop()


def test_smtp_urls_are_read_with_sensible_defaults() -> None:
    """Ports default to 25 (smtp) and 465 (smtps); user and password are URL-decoded; the
    display form hides the password; a bad URL never echoes it."""
    plain = parse_smtp_url("smtp://mail.example")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        "mail.example", 25, False, False, None)
    tls = parse_smtp_url("smtps://relay%40gc.example:p%40ss%3Aword@mail.example")
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (465, True, "relay@gc.example", "p@ss:word")
    assert tls.display() == "smtps://relay%40gc.example:***@mail.example:465"
    assert "p@ss" not in repr(tls)
    sub = parse_smtp_url("smtp://mail.example:587?starttls=1&from=payments%40gc.example&timeout=5")
    assert (sub.port, sub.starttls, sub.sender, sub.timeout) == (587, True, "payments@gc.example", 5.0)
    with pytest.raises(SmtpUrlError) as bad:
        parse_smtp_url("smtps://u:Hunter2@mail.example?starttls=yes")
    assert "Hunter2" not in str(bad.value)
