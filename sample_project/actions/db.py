"""The Parcel & Pine demo store: a small SQLite database behind the custom actions.

The file is created and seeded on first use at ``<project>/.calm/store.db`` (the path is
resolved from this file, so it does not depend on the working directory).

The seeded accounts and orders are never modified. What a conversation changes
(cancelling an order, a new delivery address) is stored per conversation, keyed by the
tracker's ``sender_id``, and laid over the seeded order when that conversation reads it.
So every new chat and every e2e test case starts from the same store, and a conversation
still sees its own changes.

Only the standard library is used.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_PATH = PROJECT_DIR / ".calm" / "store.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    email TEXT PRIMARY KEY,
    pin TEXT NOT NULL,
    name TEXT NOT NULL,
    membership_tier TEXT NOT NULL,
    loyalty_points INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    account_email TEXT NOT NULL REFERENCES accounts(email),
    status TEXT NOT NULL,
    items TEXT NOT NULL,
    total REAL NOT NULL,
    shipping_address TEXT NOT NULL,
    placed_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_changes (
    sender_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    changed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (sender_id, order_id, field)
);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    reason TEXT,
    refund_method TEXT,
    free_label INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (sender_id, order_id)
);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL,
    account_email TEXT,
    issue TEXT,
    priority TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL,
    rating REAL,
    comment TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""

# email, pin, name, membership tier, loyalty points
ACCOUNTS = [
    ("maya@example.com", "4321", "Maya Chen", "gold", 1250),
    ("sam@example.com", "1111", "Sam Okafor", "silver", 320),
    ("lee@example.com", "2468", "Lee Park", "basic", 40),
]

# id, account email, status, items, total, shipping address, placed on
# fmt: off
ORDERS = [
    ("A1001", "maya@example.com", "shipped", ["Wool scarf", "Ceramic mug"], 54.00,
     "12 Elm Street, Portland, OR 97201", "2025-05-02"),
    ("A1002", "maya@example.com", "processing", ["Linen throw pillow"], 39.50,
     "12 Elm Street, Portland, OR 97201", "2025-05-09"),
    ("A1003", "sam@example.com", "delivered", ["Walnut cutting board", "Olive oil set"], 86.00,
     "48 Harbor Road, Austin, TX 73301", "2025-04-21"),
    ("A1004", "sam@example.com", "cancelled", ["Brass desk lamp"], 45.00,
     "48 Harbor Road, Austin, TX 73301", "2025-04-28"),
    ("A1005", "lee@example.com", "processing", ["Canvas tote bag", "Notebook set"], 32.00,
     "9 Lake View Drive, Madison, WI 53703", "2025-05-10"),
]
# fmt: on

ORDER_ID_RE = re.compile(r"\b([A-Za-z])\s*-?\s*(\d{4})\b")


_seeded: set[Path] = set()


def connect() -> sqlite3.Connection:
    """Open the store, creating and seeding it on first use."""
    path = DB_PATH
    fresh = path not in _seeded or not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10)
    connection.row_factory = sqlite3.Row
    if fresh:
        _seed(connection)
        _seeded.add(path)
    return connection


def _seed(connection: sqlite3.Connection) -> None:
    with connection:
        connection.executescript(SCHEMA)
        connection.executemany("INSERT OR IGNORE INTO accounts VALUES (?, ?, ?, ?, ?)", ACCOUNTS)
        connection.executemany(
            "INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(o[0], o[1], o[2], json.dumps(o[3]), *o[4:]) for o in ORDERS],
        )


# --- helpers -----------------------------------------------------------------------------


def normalize_order_id(value: Any) -> str | None:
    """'a1001', '#A1001', 'order A-1001' -> 'A1001'; None if there is no order number."""
    if value is None:
        return None
    match = ORDER_ID_RE.search(str(value))
    if match:
        return (match.group(1) + match.group(2)).upper()
    text = re.sub(r"[^A-Za-z0-9]", "", str(value)).upper()
    return text or None


def normalize_email(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def describe_items(items: list[str]) -> str:
    """['a'] -> 'a'; ['a', 'b', 'c'] -> 'a, b and c'."""
    names = [str(item) for item in items if item]
    if not names:
        return "no items"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def format_money(amount: float) -> str:
    return f"${amount:,.2f}"


# --- accounts ----------------------------------------------------------------------------


def get_account(email: Any) -> dict[str, Any] | None:
    email = normalize_email(email)
    if not email:
        return None
    with closing(connect()) as connection:
        row = connection.execute("SELECT * FROM accounts WHERE email = ?", (email,)).fetchone()
    return dict(row) if row else None


def check_credentials(email: Any, pin: Any) -> dict[str, Any] | None:
    """The account if `pin` is its PIN, else None."""
    account = get_account(email)
    if account is None or pin is None:
        return None
    return account if str(pin).strip() == account["pin"] else None


# --- orders ------------------------------------------------------------------------------


def get_order(order_id: Any, sender_id: str) -> dict[str, Any] | None:
    """The order as this conversation sees it (seeded data plus its own changes)."""
    order_id = normalize_order_id(order_id)
    if not order_id:
        return None
    with closing(connect()) as connection:
        row = connection.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            return None
        changes = connection.execute(
            "SELECT field, value FROM order_changes WHERE sender_id = ? AND order_id = ?",
            (sender_id, order_id),
        ).fetchall()
    order = dict(row)
    try:
        order["items"] = list(json.loads(order["items"]))
    except (TypeError, ValueError):
        order["items"] = []
    for change in changes:
        order[change["field"]] = change["value"]
    return order


def _change_order(order_id: str, sender_id: str, field: str, value: str) -> None:
    with closing(connect()) as connection, connection:
        connection.execute(
            "INSERT OR REPLACE INTO order_changes (sender_id, order_id, field, value) "
            "VALUES (?, ?, ?, ?)",
            (sender_id, order_id, field, value),
        )


def cancel_order(order_id: str, sender_id: str) -> None:
    _change_order(order_id, sender_id, "status", "cancelled")


def update_shipping_address(order_id: str, sender_id: str, address: str) -> None:
    _change_order(order_id, sender_id, "shipping_address", address)


# --- returns, tickets, feedback ------------------------------------------------------------


def create_return(
    order_id: str, sender_id: str, reason: Any, refund_method: Any, free_label: bool
) -> str:
    """Open (or update) the return of an order; returns its return authorization number."""
    return_id = f"RMA-{order_id}"
    with closing(connect()) as connection, connection:
        connection.execute(
            "INSERT OR REPLACE INTO returns "
            "(id, sender_id, order_id, reason, refund_method, free_label) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (return_id, sender_id, order_id, reason, refund_method, int(bool(free_label))),
        )
    return return_id


def create_ticket(sender_id: str, account_email: Any, issue: Any, priority: str) -> str:
    with closing(connect()) as connection, connection:
        cursor = connection.execute(
            "INSERT INTO tickets (sender_id, account_email, issue, priority) VALUES (?, ?, ?, ?)",
            (sender_id, account_email, issue, priority),
        )
        number = cursor.lastrowid or 0
    return f"PS-{4000 + number}"


def save_feedback(sender_id: str, rating: float | None, comment: Any) -> None:
    with closing(connect()) as connection, connection:
        connection.execute(
            "INSERT INTO feedback (sender_id, rating, comment) VALUES (?, ?, ?)",
            (sender_id, rating, None if comment is None else str(comment)),
        )
