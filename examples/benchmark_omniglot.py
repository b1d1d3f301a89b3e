"""ProtoNet, logistic probe and tcs-probe (optionally the students) on Omniglot, with 95% intervals.

    python examples/benchmark_omniglot.py                          # 600 episodes per shot count
    python examples/benchmark_omniglot.py --students --student-episodes 30

Seed 0 with 15 queries gives the episodes of the committed files episodes/omniglot-small/5w{1,5}s.
"""

from __future__ import annotations

import argparse

import fewshot_tcs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="efficientnet_lite2", help="the teacher")
    parser.add_argument("--n-episodes", type=int, default=600)
    parser.add_argument("--students", action="store_true", help="also train student-ce and student-tcs")
    parser.add_argument("--student-episodes", type=int, default=30)
    parser.add_argument("--steps", type=int, default=120, help="training steps of each student")
    parser.add_argument("--out", default="runs/benchmark_omniglot")
    args = parser.parse_args()

    result = fewshot_tcs.benchmark(
        "omniglot-small",
        methods=["protonet", "logistic", "tcs-probe"],
        backbone=args.backbone,
        shots=(1, 5),
        n_episodes=args.n_episodes,
        seed=0,
        out=f"{args.out}/probes",
    )
    print(result.to_markdown())
    if args.students:
        # Semi-supervised 5-shot episodes: 5 queries and 10 unlabelled images of each class (20 per class).
        students = fewshot_tcs.benchmark(
            "omniglot-small",
            methods=["protonet", "student-ce", "student-tcs"],
            backbone=args.backbone,
            shots=(5,),
            n_episodes=args.student_episodes,
            n_query=5,
            n_unlabeled=10,
            views=4,
            method_params={"steps": args.steps, "teacher_views": 4},
            seed=0,
            out=f"{args.out}/students",
        )
        print(students.to_markdown())


if __name__ == "__main__":
    main()
