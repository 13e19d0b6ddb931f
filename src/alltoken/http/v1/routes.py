"""The data plane's route table: every /v1 URL and its handler, in one place."""

from starlette.routing import Route

from alltoken.http.v1 import chat, embeddings, images, info, messages, redeem

ROUTES = [
    # Paid: admitted, served and settled through runtime/lifecycle.py.
    Route("/v1/chat/completions", chat.chat_completions, methods=["POST"]),
    Route("/v1/embeddings", embeddings.embeddings, methods=["POST"]),
    Route("/v1/images/generations", images.generations, methods=["POST"]),
    Route("/v1/images/edits", images.edits, methods=["POST"]),
    Route("/v1/images/variations", images.variations, methods=["POST"]),
    Route("/v1/messages", messages.messages, methods=["POST"]),
    # Free: the caller's own information, counting tokens, redeeming a code.
    Route("/v1/messages/count_tokens", messages.count_tokens, methods=["POST"]),
    Route("/v1/models", info.list_models, methods=["GET"]),
    Route("/v1/credits", info.credits, methods=["GET"]),
    Route("/v1/credits/redeem", redeem.redeem_code, methods=["POST"]),
    Route("/v1/key", info.current_key, methods=["GET"]),
    Route("/v1/generation", info.generation, methods=["GET"]),
]
