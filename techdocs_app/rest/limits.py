"""Per-key rate limits of the REST API, on the product's shared Redis limiter (`ratelimit`).

Every request counts against its key (`API_RATE_LIMIT_PER_MINUTE`); a question also counts
against the key's question limit (`API_QUERY_RATE_LIMIT_PER_MINUTE`) and, like a question asked in
the chat, against the person's and the organization's question limits (`throttles`). Over a
limit: `RateLimited` with the exact wait, answered as 429 with `Retry-After`. Redis unreachable:
the limits fail open (the limiter's policy).
"""

from __future__ import annotations

from techdocs_app import ratelimit, throttles
from techdocs_app.auth import Principal
from techdocs_app.ratelimit import Rate
from techdocs_app.settings import get_settings

PERIOD_S = 60


def count_request(*, key_id: int) -> None:
    limit = get_settings().api_rate_limit_per_minute
    ratelimit.hit(
        Rate("api-key", limit, PERIOD_S), str(key_id), what="This API key sent too many requests."
    )


def count_question(*, key_id: int, principal: Principal) -> None:
    limit = get_settings().api_query_rate_limit_per_minute
    ratelimit.hit(
        Rate("api-key-questions", limit, PERIOD_S),
        str(key_id),
        what="This API key asked too many questions.",
    )
    throttles.check_question(principal)
