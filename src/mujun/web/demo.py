"""Demo helpers: a small evaluated store, and one account per role to try the platform with.

Used by the web tests and meant for ``make demo`` (which prints the accounts it creates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mujun.auth.audit import Actor
from mujun.auth.clock import utcnow
from mujun.auth.roles import Role
from mujun.auth.settings import AuthSettings
from mujun.auth.users import create_user, get_user
from mujun.store import Store, open_store


@dataclass(frozen=True)
class DemoAccount:
    """A created demo account and its password."""

    username: str
    role: Role
    password: str
    scope: str | None = None
    department: str | None = None
    uscc: str | None = None


def build_demo_store(
    db: Path,
    data_dir: Path,
    *,
    enterprises: int = 1000,
    year: int = 2023,
    seed: int = 7,
    rules: Path | None = None,
) -> str:
    """Generate a province's files (CSV), ingest, validate and evaluate one year into ``db``;
    return the run id."""
    from mujun.demo import generate_province
    from mujun.evaluation import evaluate
    from mujun.ingest import ingest_directory, load_profiles
    from mujun.rules import load_rules
    from mujun.settings import default_rules_dir
    from mujun.validate import validate_year

    rules_dir = default_rules_dir()
    generate_province(data_dir, enterprises=enterprises, years=(year,), seed=seed, fmt="csv")
    profiles = load_profiles(rules_dir / "sources")
    with open_store(db) as store:
        ingest_directory(store, data_dir / str(year), year, profiles)
        validate_year(store, year, profiles)
        rule_set = load_rules(rules or rules_dir / "zhejiang-default.yaml")
        return evaluate(store, year, rules=rule_set).run_id


def busiest_county(store: Store, year: int | None = None) -> tuple[str, str]:
    """(county, city) with the most register firms, to give demo analysts something to see."""
    cond, params = ("year = ?", [year]) if year else ("TRUE", [])
    row = store.rows(
        f"SELECT county_code, city_code FROM enterprises WHERE {cond} AND county_code <> '' "
        "GROUP BY ALL ORDER BY count(*) DESC, county_code LIMIT 1",
        params,
    )
    if not row:
        raise ValueError("the store has no register firms")
    return row[0][0], row[0][1]


def create_demo_users(
    store: Store,
    password: str,
    *,
    settings: AuthSettings | None = None,
    prefix: str = "demo-",
) -> list[DemoAccount]:
    """One account per role (analysts and the enterprise in the busiest county), all with
    ``password`` and no forced change; accounts that exist already are left as they are."""
    settings = settings or AuthSettings()
    county, city = busiest_county(store)
    uscc = store.scalar(
        "SELECT min(uscc) FROM enterprises WHERE county_code = ? AND uscc IS NOT NULL", [county]
    )
    wanted = [
        DemoAccount(f"{prefix}province", Role.PROVINCE_ADMIN, password),
        DemoAccount(f"{prefix}city", Role.CITY_ANALYST, password, scope=city),
        DemoAccount(f"{prefix}county", Role.COUNTY_ANALYST, password, scope=county),
        DemoAccount(f"{prefix}uploader", Role.DEPARTMENT_UPLOADER, password, department="tax"),
        DemoAccount(str(uscc), Role.ENTERPRISE, password, uscc=str(uscc)),
        DemoAccount(f"{prefix}sysadmin", Role.SYSTEM_ADMIN, password),
        DemoAccount(f"{prefix}secadmin", Role.SECURITY_ADMIN, password),
        DemoAccount(f"{prefix}auditor", Role.AUDIT_ADMIN, password),
    ]
    actor = Actor("demo", "cli")
    now = utcnow()
    for account in wanted:
        if get_user(store, account.username) is not None:
            continue
        create_user(
            store,
            username=account.username,
            role=account.role,
            now=now,
            actor=actor,
            settings=settings,
            scope=account.scope,
            department=account.department,
            uscc=account.uscc,
            display_name=f"演示 {account.role.value}",
            password=password,
            must_change_password=False,
        )
    return wanted


def publish_demo_run(store: Store, run_id: str, annex_root: Path) -> dict:
    """Publish ``run_id`` with a demo notice (window opening today), so analysts and the
    enterprise see it; a run that is no longer a draft is left as it is."""
    from mujun.workflow.publication import BasisDocument, PublicationSpec, publish_run
    from mujun.workflow.runs import get_run

    if get_run(store, run_id).status != "draft":
        return {}
    spec = PublicationSpec(
        basis=[BasisDocument("演示：亩均效益综合评价实施办法", "演示〔2030〕1号")],
        contact_phone="0571-00000000",
        title="演示公示",
    )
    return publish_run(
        store, run_id, spec, actor=Actor("demo", "cli"), now=utcnow(), annex_root=annex_root
    )


def format_demo_accounts(accounts: list[DemoAccount], url: str | None = None) -> str:
    """The demo accounts as a plain table (role, username, password, scope), for ``make demo``."""
    lines = [f"{'role':<22} {'username':<22} {'password':<18} scope"]
    for a in accounts:
        scope = a.scope or a.department or a.uscc or ""
        lines.append(f"{a.role.value:<22} {a.username:<22} {a.password:<18} {scope}")
    if url:
        lines.append(f"open {url} and log in with any of them (no password change is forced)")
    return "\n".join(lines)


DEMO_PASSWORD = "Mujun-demo-2030"


def main(argv: list[str] | None = None) -> None:
    """``python -m mujun.web.demo --db STORE``: create (or reuse) the demo accounts and print them.

    Used by ``make demo`` after ``make demo-publish`` has published the runs, so every role sees
    data at once.
    """
    import argparse

    parser = argparse.ArgumentParser(description="create one demo account per role")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--url", default=None)
    args = parser.parse_args(argv)
    with open_store(args.db) as store:
        accounts = create_demo_users(store, args.password)
    print("Demo accounts (fixed demo passwords, no forced change; for a demo only):")
    print(format_demo_accounts(accounts, args.url))


if __name__ == "__main__":
    main()
