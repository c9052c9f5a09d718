"""What every hook of this package shares: Airflow's conventions for a hook's connection."""

from __future__ import annotations

from airflow.sdk import BaseHook


def assert_airflow_conventions(hook: type[BaseHook]) -> None:
    """``conn_name_attr`` names the attribute that really holds the connection id given,
    ``default_conn_name`` is declared by the hook itself, and ``hook_name`` is its own."""
    assert "default_conn_name" in {k for c in hook.__mro__[:-1] if c is not BaseHook for k in vars(c)}
    instance = hook("my_conn")  # type: ignore[call-arg]
    assert getattr(instance, hook.conn_name_attr) == "my_conn"
    assert hook.hook_name and not hook.hook_name.startswith("default")
