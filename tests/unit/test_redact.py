"""Secrets are masked in headers, URLs, bodies and, as a last resort, in written files."""

from __future__ import annotations

from pathlib import Path

from lucs_harness.client import Exchange
from lucs_harness.redact import MASK, Redactor, scrub_files
from lucs_harness.reporting.exchanges import exchange_record


def test_credential_headers_and_configured_secrets_are_masked() -> None:
    redactor = Redactor(["s3cret"], ["X-LUCS-Key"])
    headers = {"Authorization": "Bearer x", "X-LUCS-Key": "k", "Cookie": "c", "Accept": "json", "X-Echo": "s3cret!"}
    assert redactor.headers_of(headers) == {
        "Authorization": MASK, "X-LUCS-Key": MASK, "Cookie": MASK, "Accept": "json", "X-Echo": f"{MASK}!",
    }  # fmt: skip


def test_urls_lose_user_info_and_secrets() -> None:
    assert (
        Redactor(["s3cret"]).url("https://bob:pw@lucs:8443/v1.0?k=s3cret") == f"https://{MASK}@lucs:8443/v1.0?k={MASK}"
    )


def test_urls_a_server_sent_lose_the_values_of_secret_named_parameters() -> None:
    location = "http://u:foreign@evil:81/x?api_key=k3y&page=2&Token=t&flag"
    assert Redactor().url(location) == f"http://{MASK}@evil:81/x?api_key={MASK}&page=2&Token={MASK}&flag"
    assert Redactor().headers_of({"location": location, "X-Echo": location})["location"] == Redactor().url(location)


def test_bodies_mask_secret_named_keys_at_any_depth() -> None:
    body = {"User": {"Password": "pw", "Name": "s3cret"}, "Tokens": ["t"], "Presence": "Online"}
    assert Redactor(["s3cret"]).body(body) == {
        "User": {"Password": MASK, "Name": MASK},
        "Tokens": MASK,
        "Presence": "Online",
    }


def test_an_exchange_record_never_holds_the_authorization_header() -> None:
    exchange = Exchange(
        "list_users", "GET", "http://x/v1.0", status=200, request_headers={"Authorization": "Bearer t0k"}
    )
    assert "t0k" not in repr(exchange)
    assert exchange_record(exchange, Redactor())["request"]["headers"] == {"Authorization": MASK}


def test_files_are_scrubbed_in_place(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"token": "s3cret"}')
    (tmp_path / "b.txt").write_text("clean")
    assert scrub_files([tmp_path], ["s3cret"]) == [tmp_path / "a.json"]
    assert (tmp_path / "a.json").read_text() == '{"token": "***"}'
    assert scrub_files([tmp_path], []) == []
