"""The LangChain and LlamaIndex retrievers, driven through the real libraries (no LLM needed)."""
import pytest

from hyperamy.errors import InputError

DOCS = [
    {"id": "c1", "text": "The prisoner was terrified of the dark cell", "chapter": 1, "who": "Edmond"},
    {"id": "c2", "text": "The sailor was delighted to see the harbour", "chapter": 2, "who": "Edmond"},
    {"id": "c3", "text": "The magistrate was furious at the prisoner's letter", "chapter": 3, "who": "Gérard"},
    {"id": "c4", "text": "The prisoner counted the stones of his cell", "chapter": 4, "who": "Edmond's"},
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path_factory.mktemp("integrations") / "idx", create=True, encoder=FakeEncoder())
    engine.add(DOCS)
    return engine


def test_langchain_retriever_returns_documents_with_feeling_and_filters(index):
    from langchain_core.documents import Document

    from hyperamy.integrations.langchain import HyperAmyRetriever

    retriever = HyperAmyRetriever.from_index(index, k=2)
    docs = retriever.invoke("the prisoner in his cell")
    assert all(isinstance(d, Document) for d in docs) and len(docs) == 2
    first = docs[0]
    assert first.id == first.metadata["hyperamy_id"] and first.page_content == next(
        d["text"] for d in DOCS if d["id"] == first.id)
    assert {"score", "emotion", "intensity", "strength", "chapter", "who"} <= set(first.metadata)
    assert [d.id for d in retriever.invoke("the prisoner", where="chapter >= 3", k=4)] in (["c3", "c4"], ["c4", "c3"])
    feared = retriever.invoke("the prisoner", emotion="fear", k=4)
    assert [d.id for d in feared] == ["c1"] and feared[0].metadata["emotion"] == "fear"
    with pytest.raises(InputError, match="unknown search option kk"):
        retriever.invoke("the prisoner", kk=3)


def test_langchain_retriever_runs_in_a_chain(index):
    from langchain_core.runnables import RunnableLambda

    from hyperamy.integrations.langchain import HyperAmyRetriever

    chain = HyperAmyRetriever.from_index(index, k=1, mode="lexical") | RunnableLambda(lambda docs: docs[0].id)
    assert chain.invoke("harbour") == "c2"


def test_llamaindex_retriever_returns_nodes_and_keeps_feelings_from_the_llm(index):
    from llama_index.core.schema import MetadataMode, NodeWithScore

    from hyperamy.integrations.llamaindex import HyperAmyRetriever

    nodes = HyperAmyRetriever(index, k=3).retrieve("the prisoner in his cell")
    assert all(isinstance(n, NodeWithScore) for n in nodes) and len(nodes) == 3
    assert nodes[0].score == nodes[0].node.metadata["score"] and nodes[0].node.node_id == nodes[0].node.metadata["hyperamy_id"]
    for_llm = nodes[0].node.get_content(metadata_mode=MetadataMode.LLM)
    assert "chapter: " in for_llm and "kappa" not in for_llm and "intensity" not in for_llm


def test_llamaindex_metadata_filters_become_a_quoted_condition(index):
    from llama_index.core.vector_stores import FilterCondition, MetadataFilter, MetadataFilters

    from hyperamy.integrations.llamaindex import HyperAmyRetriever, where_of

    def ids(filters, **options):
        return sorted(n.node.node_id for n in HyperAmyRetriever(index, k=4, filters=filters, **options).retrieve("the"))

    later = MetadataFilters(filters=[MetadataFilter(key="chapter", operator=">=", value=2)])
    assert where_of(later) == '"chapter" >= 2' and ids(later) == ["c2", "c3", "c4"]
    quoted = MetadataFilters(filters=[MetadataFilter(key="who", operator="==", value="Edmond's")])
    assert where_of(quoted) == '"who" = \'Edmond\'\'s\'' and ids(quoted) == ["c4"]
    either = MetadataFilters(filters=[MetadataFilter(key="who", operator="in", value=["Gérard", "nobody"]),
                                      MetadataFilter(key="chapter", operator="<", value=2)],
                             condition=FilterCondition.OR)
    assert ids(either) == ["c1", "c3"]
    assert ids(later, where="chapter < 4") == ["c2", "c3"]
    injected = MetadataFilters(filters=[MetadataFilter(key="who", operator="==", value="x' OR TRUE --")])
    assert ids(injected) == []
    with pytest.raises(InputError, match="does not take the 'any'"):
        where_of(MetadataFilters(filters=[MetadataFilter(key="who", operator="any", value=["a"])]))
