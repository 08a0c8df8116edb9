"""hyperamy inside the frameworks people build with: a LangChain retriever (langchain.py), a
LlamaIndex retriever (llamaindex.py) and an MCP server for agents (mcp_server.py). Each imports its
framework only when used; install it with the matching extra (`pip install "hyperamy[langchain]"`).
"""
