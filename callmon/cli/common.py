"""Options every command shares, and the objects they open."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.core.config import Config, load_config
from callmon.storage import Store

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Database URL (sqlite:///FILE or postgresql://...); default $CALLMON_DB, else sqlite:///callmon.db.", envvar="CALLMON_DB", show_envvar=False),
]
ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", help="TOML configuration file (rules, cadence, calendar, directory).", envvar="CALLMON_CONFIG", show_envvar=False),
]
PbxOption = Annotated[
    Optional[str],
    typer.Option("--pbx", help="Name of the PBX these records belong to (several PBXs can share one database); default from the config, else 'default'."),
]


def open_all(db: str | None, config: Path | None, pbx: str | None) -> tuple[Store, Config]:
    cfg = load_config(config, pbx=pbx)
    return Store(db), cfg
