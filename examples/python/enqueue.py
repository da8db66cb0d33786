"""Enqueue an oncely job from Python, in the application's own transaction.

An order and the job that ships it are written in one transaction: if it
commits, both exist and an oncely worker ships the order once; if it rolls
back, neither exists. Uses oncely's SQL API (docs/sql-api.md, contract 1).

    python enqueue.py DATABASE_URL commit|rollback REFERENCE

Prints the job's id (the id it would have had, when rolled back).
"""

import sys

import psycopg
from psycopg.types.json import Jsonb


def place_order(url: str, reference: str, commit: bool) -> int:
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS shop_orders ("
            " id bigserial PRIMARY KEY, reference text NOT NULL)"
        )
        conn.commit()
        with conn.transaction(force_rollback=not commit):
            (order_id,) = conn.execute(
                "INSERT INTO shop_orders (reference) VALUES (%s) RETURNING id",
                (reference,),
            ).fetchone()
            (job_id,) = conn.execute(
                "SELECT oncely_enqueue(%s, %s, %s, unique_key => %s)",
                ("shop", "order:ship", Jsonb({"order": order_id}), f"ship-{order_id}"),
            ).fetchone()
    return job_id


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[2] not in ("commit", "rollback"):
        sys.exit(__doc__)
    url, outcome, reference = sys.argv[1], sys.argv[2], sys.argv[3]
    print(place_order(url, reference, commit=outcome == "commit"))


if __name__ == "__main__":
    main()
