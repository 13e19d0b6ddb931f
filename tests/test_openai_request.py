"""The shared reading of an OpenAI request (providers/openai_request.py): what a data URL must look like for
every translator, tool-call ids, arguments and content parts."""

import pytest

from alltoken.providers.openai_request import (
    DataUrlError,
    ToolCallIds,
    call_arguments,
    file_data,
    image_url,
    read_data_url,
    texts,
)


@pytest.mark.parametrize("url,mime,data", [
    ("data:image/png;base64,iVBORw0K", "image/png", "iVBORw0K"),
    ("data:IMAGE/PNG;base64,iVBORw0K", "image/png", "iVBORw0K"),                      # types are case-insensitive
    ("data:image/svg+xml;charset=utf-8;base64,PHN2Zz4=", "image/svg+xml", "PHN2Zz4="),  # attribute=value parameters
    ("data:application/pdf;base64,JVBE\nRi0=", "application/pdf", "JVBERi0="),         # line breaks are dropped
])
def test_base64_data_urls_are_read_alike_for_every_translator(url, mime, data):
    assert (read_data_url(url).mime, read_data_url(url).data) == (mime, data)


@pytest.mark.parametrize("url,reason", [
    ("data:image/png,rawbytes", "base64 data URL"),           # not base64
    ("data:,abc", "base64 data URL"),                         # no media type
    ("data:png;base64,AAAA", "base64 data URL"),              # no subtype
    ("data:image/png;base64;x=y,AAAA", "base64 data URL"),    # base64 must come last
    ("data:image/png;foo;base64,AAAA", "base64 data URL"),    # a parameter without a value
    ("data:image/png;base64,not*base64", "not valid base64"),
])
def test_data_urls_no_upstream_takes_are_refused_with_the_reason(url, reason):
    with pytest.raises(DataUrlError, match=reason):
        read_data_url(url)


def test_tool_call_ids_match_results_to_calls_and_synthesize_missing_ones_stably():
    ids = ToolCallIds(lambda raw: raw.replace(".", "_"), lambda message, number: f"t{message}_{number}")
    assert ids.for_calls(1, ["a.b", None]) == ["a_b", "t1_1"]
    assert ids.for_result("") == "a_b"               # no id: the oldest call still unanswered
    assert ids.for_result("unknown") == "t1_1"        # an id that matches nothing: likewise
    assert ids.for_result("a.b") == "a_b"             # an id of an earlier call keeps it
    assert ids.for_result(None) is None               # nothing left it could answer
    ids.for_calls(3, [])
    assert ids.for_result("zzz") == "zzz"


def test_call_arguments_and_content_parts():
    assert call_arguments(None) == call_arguments("") == {} and call_arguments('{"a": 1}') == {"a": 1}
    assert call_arguments({"a": 1}) == {"a": 1}
    for bad, reason in (("{", "not valid JSON"), ("[1]", "JSON object")):
        with pytest.raises(ValueError, match=reason):
            call_arguments(bad)
    assert image_url({"type": "image_url", "image_url": {"url": "u"}}) == image_url({"image_url": "u"}) == "u"
    assert file_data({"type": "file", "file": {"file_id": "f"}}) is None
    assert texts("hi") == ["hi"] and texts([{"type": "text", "text": "a"}, {"type": "image_url"}]) == ["a"]
