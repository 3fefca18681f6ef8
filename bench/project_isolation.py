"""Project isolation: is the right project's fact injected, and never another project's?

    .venv/bin/python bench/project_isolation.py [--postgres]

Generates its own data: several users, each with the same project names (names collide across
accounts), each project holding near-duplicate facts that differ only in their value ("deploy the
billing service on Fridays" here, "on Mondays" there), and a few person-level facts. Every
question is asked in a new chat of its project through the app's own turn preparation
(chat.turns._prepare_request: recall plus the project's state), and the model input it builds is
checked: hit = the project's own fact is in it; bleed = any of the owner's other projects' facts
(or, in a project-only project, any person-level fact) is in it, or any memory logged as used by
the answer belongs to another account or to a scope the chat may not read.
"""

import os
import time

import harness
import numpy as np

USERS = 3
PROJECTS = ["Apollo", "Borealis", "Cobalt", "Dune"]
COMPONENTS = [
    "billing service",
    "search cluster",
    "mobile app",
    "payments gateway",
    "data warehouse",
    "admin console",
]
WEEKDAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
PERSON_FACTS = ["Prefers short answers", "Lives in Lisbon", "Likes green tea in the morning"]


def project_facts(user_number: int, project_number: int) -> list[tuple[str, str]]:
    """(fact, question) pairs of one project: the same subjects in every project, other values."""
    pairs = []
    for number, component in enumerate(COMPONENTS):
        weekday = WEEKDAYS[(number + project_number + user_number) % len(WEEKDAYS)]
        month = MONTHS[(number + 2 * project_number + user_number) % len(MONTHS)]
        pairs.append(
            (
                f"Decided to deploy the {component} on {weekday}",
                f"When do we deploy the {component}?",
            )
        )
        pairs.append(
            (
                f"Deadline for the {component} migration is {month}",
                f"What is the deadline for the {component} migration?",
            )
        )
    return pairs


def build(owner, user_number: int) -> list[dict]:
    """The owner's projects and memories; returns one entry per project."""
    from chat.models import Project
    from memories import embeddings, services

    for text in PERSON_FACTS:
        services.add_memory(owner, text, kind="preference")
    projects = []
    for project_number, name in enumerate(PROJECTS):
        # The last project of each user keeps to itself.
        mode = Project.MemoryMode.PROJECT_ONLY if name == PROJECTS[-1] else "shared"
        project = Project.objects.create(owner=owner, name=name, memory_mode=mode)
        pairs = project_facts(user_number, project_number)
        vectors = embeddings.embed_texts([fact for fact, _ in pairs])
        for (fact, _), vector in zip(pairs, vectors, strict=True):
            services.add_memory(owner, fact, kind="task", project_id=project.pk, vector=vector)
        projects.append({"project": project, "pairs": pairs})
    return projects


def ask(project, question: str) -> tuple[str, bool, float]:
    """The memory context the app builds for `question` in a new chat of `project`, and whether
    any memory it logged as used lies outside the chat's scopes (by id, any account)."""
    from chat import services as chat_services
    from chat import turns
    from chat.models import Conversation
    from memories.models import Memory

    conversation = Conversation.objects.create(owner=project.owner, project=project)
    user_message, answer = chat_services.start_turn(conversation, question)
    started = time.perf_counter()
    _, items, _ = turns._prepare_request(conversation, user_message, answer)
    elapsed = time.perf_counter() - started
    context = "\n".join(item["content"] for item in items if item.get("role") == "developer")
    allowed = [project.pk, None] if project.memory_mode == "shared" else [project.pk]
    used = Memory.objects.filter(accesses__message=answer)
    outside = used.exclude(owner=project.owner).exists() or any(
        project_id not in allowed for project_id in used.values_list("project_id", flat=True)
    )
    return context, outside, elapsed


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    options = parser.parse_args()
    # Hundreds of questions a minute, from a handful of users.
    os.environ["CHAT_TURNS_PER_MINUTE"] = "100000"
    harness.setup_django("project_isolation", options.postgres)
    from accounts.models import User
    from memories import embeddings
    from memories.recall import estimate_tokens

    embeddings.embed_text("warm up")
    owners = [User.objects.create_user(username=f"isolation{n}") for n in range(USERS)]
    built = {owner.pk: build(owner, n) for n, owner in enumerate(owners)}
    every_fact = {
        (owner_id, entry["project"].pk): {fact for fact, _ in entry["pairs"]}
        for owner_id, entries in built.items()
        for entry in entries
    }

    rows = []
    for owner_id, entries in built.items():
        for entry in entries:
            project = entry["project"]
            own = every_fact[(owner_id, project.pk)]
            # Another account's project may hold the very same text: that is not told apart.
            foreign = (
                set().union(*(facts for key, facts in every_fact.items() if key[0] == owner_id))
                - own
            )
            if project.memory_mode == "project_only":
                foreign |= set(PERSON_FACTS)
            for fact, question in entry["pairs"]:
                context, outside, seconds = ask(project, question)
                rows.append(
                    {
                        "hit": fact in context,
                        "bleed": outside or any(other in context for other in foreign),
                        "tokens": estimate_tokens(context),
                        "seconds": seconds,
                        "mode": project.memory_mode,
                    }
                )

    hit_rate = float(np.mean([r["hit"] for r in rows]))
    bleed_rate = float(np.mean([r["bleed"] for r in rows]))
    tokens = [r["tokens"] for r in rows]
    latency = harness.latency_summary([r["seconds"] for r in rows])
    harness.print_table(
        ["questions", "hit rate", "bleed rate", "tokens mean", "tokens p95", "tokens max"],
        [
            [
                len(rows),
                round(hit_rate, 4),
                round(bleed_rate, 4),
                round(float(np.mean(tokens))),
                round(harness.percentile(tokens, 95)),
                max(tokens),
            ]
        ],
    )
    print(
        f"\n{USERS} users x {len(PROJECTS)} projects (same names for every user, the last one "
        f"project-only), {len(COMPONENTS) * 2} near-duplicate facts per project; turn preparation "
        f"p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms"
    )
    harness.write_results(
        f"project_isolation_{'postgresql' if options.postgres else 'sqlite'}",
        {
            "users": USERS,
            "projects_per_user": len(PROJECTS),
            "questions": len(rows),
            "hit_rate": hit_rate,
            "bleed_rate": bleed_rate,
            "tokens_per_turn": {
                "mean": float(np.mean(tokens)),
                "p95": harness.percentile(tokens, 95),
                "max": max(tokens),
            },
            "turn_preparation": latency,
        },
    )


if __name__ == "__main__":
    main()
