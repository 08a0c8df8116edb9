"""`hyperamy mcp`: the tools driven by the official MCP SDK's client, in process and over stdio."""
import asyncio
import json
import sys

import pytest

DOCS = [{"id": "a", "text": "Anna was terrified of the storm", "chapter": 1},
        {"id": "b", "text": "Anna was delighted with the garden", "chapter": 2},
        {"id": "c", "text": "The storm broke the garden wall", "chapter": 3}]


@pytest.fixture
def engine(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=FakeEncoder())
    engine.find_mentions([["Anna"]], detect=False)
    engine.add(DOCS)
    return engine


def call(server, *calls):
    """Run tool calls through the SDK's client; each answer's JSON (or its error text)."""
    from mcp import Client

    async def session():
        answers = []
        async with Client(server) as client:
            answers.append(sorted(tool.name for tool in (await client.list_tools()).tools))
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                text = result.content[0].text if result.content else ""
                answers.append(("error", text) if result.is_error else result.structured_content)
        return answers

    return asyncio.run(session())


def test_an_agent_searches_by_feeling_adds_deletes_and_reads(engine):
    from hyperamy.integrations.mcp_server import build_server

    tools, feared, added, found, removed, read, who, arc, bad = call(build_server(engine), (
        "search", {"query": "the storm", "emotion": ["fear"]}), (
        "add", {"documents": [{"id": "d", "text": "Anna was furious at the storm", "chapter": 4}]}), (
        "search", {"query": "storm", "where": "chapter >= 3", "mode": "lexical"}), (
        "delete", {"ids": ["d", "nope"]}), (
        "predict", {"texts": ["I am terrified", "a chair"]}), (
        "entities", {}), (
        "arc", {"by": "chapter"}), (
        "search", {"query": "storm", "where": "chapter >"}))
    assert tools == ["add", "arc", "delete", "entities", "entity", "info", "predict", "search"]
    assert [hit["id"] for hit in feared["result"]] == ["a"] and feared["result"][0]["emotion"] == "fear"
    assert added["added"] == 1 and added["documents"] == 4
    assert [hit["id"] for hit in found["result"]] in (["c", "d"], ["d", "c"])
    assert removed == {"removed": ["d"], "not_found": ["nope"], "documents": 3}
    assert [p["top_emotions"][0]["label"] for p in read["result"]] == ["fear", "neutral"]
    assert who["result"][0]["name"] == "Anna" and who["result"][0]["mentions"] == 2
    assert [point["chapter"] for point in arc["points"]] == [1, 2, 3]
    assert bad[0] == "error" and "syntax error: something is missing at the end of the condition" in bad[1]


def test_hyperamy_mcp_speaks_the_protocol_on_stdio(engine):
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    async def session():
        server = StdioServerParameters(command=sys.executable, args=["-m", "hyperamy", "mcp", "--index",
                                                                     str(engine.folder)])
        async with Client(server) as client:
            tools = await client.list_tools()
            info = await client.call_tool("info", {})
            entity = await client.call_tool("entity", {"name": "Anna"})
        return tools, info, entity

    tools, info, entity = asyncio.run(session())
    assert len(tools.tools) == 8 and all(tool.description for tool in tools.tools)
    assert info.structured_content["documents"] == 3
    assert entity.structured_content["mentions"] == 2 and "arc" not in entity.structured_content
    assert json.loads(info.content[0].text)["documents"] == 3
