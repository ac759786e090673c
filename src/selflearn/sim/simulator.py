"""The user simulator: households living with the reference assistant, day after day.

Each household-day is drawn from its own seed, so a household's schedule of goals is
the same whatever an A/B arm changes, and the same seed gives byte-identical logs.
The simulator writes the observable turn log (DESIGN §3.1) and, separately, the
ground truth (:mod:`selflearn.sim.truth`).
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selflearn.assistant.media import Catalogue
from selflearn.assistant.pipeline import Assistant, Outcome, Turn
from selflearn.assistant.wake import WakeDetector
from selflearn.errors import ConfigError
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite.base import SupportsRewrite
from selflearn.sim.goals import Goal, GoalSampler
from selflearn.sim.hands import HandsConfig, react_by_hand
from selflearn.sim.household import Household, User, changed_user, make_household
from selflearn.sim.phrasing import Phraser
from selflearn.sim.reactions import ReactionConfig, choose_strategy, speech_seconds
from selflearn.sim.realdata import RealPhrasings
from selflearn.sim.teaching import answer_question, guided_answer, knows, learn_request
from selflearn.sim.truth import TruthRecord, failure_point, judge
from selflearn.teach.apply import with_preferences
from selflearn.teach.store import PreferenceStore
from selflearn.teach.teacher import Teacher

__all__ = ["HouseholdRun", "SimConfig", "Simulator", "population"]

START_TS = 1_767_571_200.0  # Monday 2026-01-05 00:00 UTC: day 0 of every simulation
DAY_S = 86_400.0
# When people talk to their assistant (hour of day, weight, spread in hours).
ACTIVITY = ((7.5, 0.3, 1.0), (12.5, 0.15, 1.2), (18.5, 0.35, 1.5), (21.5, 0.2, 1.0))
AWAKE_HOURS = 16.0


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. ``real_data`` None looks for ``../shared/data``; a path that
    does not exist runs on the templates and our own rules only."""

    users: int = 200
    days: int = 14
    start_day: int = 0
    seed: int = 0
    goals_per_day: float | None = None  # None: each user's own rate (8–20)
    false_wakes_per_hour: float = 0.025
    noise_scale: float = 1.0  # multiplies every speaker's speech-channel noise
    sources: tuple[float, float, float] = (0.9, 0.06, 0.04)  # templates, rules, real
    reactions: ReactionConfig = field(default_factory=ReactionConfig)
    hands: HandsConfig = field(default_factory=HandsConfig)  # put right by hand afterwards
    real_data: Path | None = None
    workers: int = 1
    # Teaching (selflearn.teach): the assistant asks at teachable moments and answers
    # "learn my preferences"; users answer from what they hold (sometimes vaguely, sometimes
    # not at all). ``taste_rate``: share of music goals that are "play something I like";
    # ``guided_rate``: chance per user and day of asking to be taught, once per run.
    teaching: bool = False
    taste_rate: float = 0.0
    guided_rate: float = 0.08
    # From this day on, every user's meanings change (the other twin town, the other media
    # class on a display, a new word of their own: household.changed_user); their goals
    # that depend on them are marked ``novel`` in the truth. None: they never change.
    novel_from_day: int | None = None

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ConfigError("SimConfig", "users", self.users, "an int >= 1")
        if self.days < 1:
            raise ConfigError("SimConfig", "days", self.days, "an int >= 1")
        if self.start_day < 0:
            raise ConfigError("SimConfig", "start_day", self.start_day, "an int >= 0")
        if self.workers < 1:
            raise ConfigError("SimConfig", "workers", self.workers, "an int >= 1")
        for name in ("taste_rate", "guided_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError("SimConfig", name, getattr(self, name), "a float in [0, 1]")
        if not 0.0 <= self.noise_scale <= 20.0:
            raise ConfigError("SimConfig", "noise_scale", self.noise_scale, "a float in [0, 20]")
        if self.false_wakes_per_hour < 0:
            raise ConfigError(
                "SimConfig", "false_wakes_per_hour", self.false_wakes_per_hour, "a float >= 0"
            )
        if len(self.sources) != 3 or min(self.sources) < 0 or sum(self.sources) <= 0:
            raise ConfigError("SimConfig", "sources", self.sources, "three weights >= 0")


def population(config: SimConfig) -> list[Household]:
    """The households holding exactly ``config.users`` users."""
    households: list[Household] = []
    total = 0
    index = 0
    while total < config.users:
        household = make_household(index, config.seed)
        room = config.users - total
        if len(household.users) > room:
            household.users = household.users[:room]
        households.append(household)
        total += len(household.users)
        index += 1
    return households


@dataclass
class HouseholdRun:
    """One household's turns (JSON lines) and ground truth over the simulated days."""

    household_id: str
    events: list[str]
    truth: list[dict[str, Any]]
    fail_opens: int = 0
    teaching: Counter[str] = field(default_factory=Counter)  # questions, moments, …


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _activity_hour(rng: random.Random) -> float:
    hours = [h for h, _, _ in ACTIVITY]
    weights = [w for _, w, _ in ACTIVITY]
    i = rng.choices(range(len(hours)), weights=weights)[0]
    return min(23.9, max(6.0, rng.gauss(hours[i], ACTIVITY[i][2])))


class _HouseholdSim:
    """Runs one household: its assistant, its users' goals and their reactions."""

    def __init__(
        self,
        household: Household,
        config: SimConfig,
        catalogue: Catalogue,
        real: RealPhrasings,
        rewriter: SupportsRewrite | None,
        fallback: str | None = None,
    ) -> None:
        self.household = household
        self.config = config
        self.assistant = Assistant.create(
            household.home.copy(),
            catalogue,
            speech=True,
            wake=WakeDetector(false_wakes_per_hour=config.false_wakes_per_hour),
            rewriter=rewriter,
        )
        if fallback == "gazetteer":
            from selflearn.peers.gazetteer import GazetteerFallback

            self.assistant.fallback = GazetteerFallback(self.assistant.home)
        elif fallback is not None:
            raise ConfigError("Simulator", "fallback", fallback, "None or 'gazetteer'")
        self.goals = GoalSampler(
            self.assistant.home, catalogue, self.assistant, taste_rate=config.taste_rate
        )
        self.phraser = Phraser(self.assistant.matcher, real, weights=config.sources)
        self.events: list[str] = []
        self.truth: list[dict[str, Any]] = []
        self.teaching: Counter[str] = Counter()
        self.teacher: Teacher | None = None
        self.guided: set[str] = set()  # users who asked to be taught this run
        self.changed = False  # the users' meanings have changed (SimConfig.novel_from_day)
        if config.teaching:
            store = PreferenceStore()
            artists = {i.title.lower() for i in catalogue.items if i.media_class == "artist"}
            home = self.assistant.home
            names = [n for e in home.entities for n in e.names]
            names += [n for a in home.areas for n in (a.name, *a.aliases)]
            self.teacher = Teacher(store, artists=artists, names=names, seed=household.seed)
            self.assistant.teacher = self.teacher
            self.assistant.rewriter = with_preferences(rewriter, store)

    def run(self) -> HouseholdRun:
        config = self.config
        for day in range(config.start_day, config.start_day + config.days):
            self._day(day)
        # the rewriter's own fail-opens (errors, late answers) and the assistant's
        fail_opens = self.assistant.fail_opens + int(
            getattr(self.assistant.rewriter, "fail_opens", 0) or 0
        )
        if self.teacher is not None:
            self.teaching["questions"] = self.teacher.questions_asked - self.teaching["guided"]
            self.teaching["moments"] = self.teacher.moments
            self.teaching["users"] = sum(u.enrolled for u in self.household.users)
            self.teaching["user_days"] = self.teaching["users"] * config.days
        return HouseholdRun(self.household.id, self.events, self.truth, fail_opens, self.teaching)

    def _schedule(self, day: int, rng: random.Random) -> list[tuple[float, int, Any]]:
        """(hour, order, what) for the day: users' goals and habits, and false wakes."""
        weekday = (day + 0) % 7  # day 0 is a Monday
        items: list[tuple[float, int, Any]] = []
        for user in self.household.users:
            rate = self.config.goals_per_day or user.goals_per_day
            for _ in range(_poisson(rng, rate)):
                items.append((_activity_hour(rng), len(items), (user, None)))
            for habit in user.habits:
                if weekday in habit.weekdays and rng.random() < 0.85:
                    hour = min(23.95, max(0.0, rng.gauss(habit.hour, habit.spread)))
                    items.append((hour, len(items), (user, habit.goal)))
        for device in self.household.devices:
            for _ in range(self.assistant.wake.false_wakes(rng, AWAKE_HOURS)):
                items.append((rng.uniform(7.0, 23.0), len(items), device.id))
        items.sort(key=lambda item: (item[0], item[1]))
        return items

    def _day(self, day: int) -> None:
        seed = f"{self.config.seed}-{self.household.id}-{day}"
        novel = self.config.novel_from_day
        if novel is not None and day >= novel and not self.changed:
            rng = random.Random(f"{self.config.seed}-{self.household.id}-changed")
            home = self.assistant.home
            self.household.users = [changed_user(u, home, rng) for u in self.household.users]
            self.changed = True
        schedule = self._schedule(day, random.Random(seed))
        clock = START_TS + day * DAY_S
        for k, (hour, _, what) in enumerate(schedule):
            ts = max(START_TS + day * DAY_S + hour * 3600.0, clock + 20.0)
            rng = random.Random(f"{seed}-{k}")
            if isinstance(what, str):
                clock = self._false_wake(what, ts, rng, day, k)
            else:
                user, habit = what
                clock = self._goal(user, habit, ts, rng, day, k)

    def _log(self, event: TurnEvent) -> None:
        self.events.append(json.dumps(event.to_dict(), separators=(",", ":")))

    def _false_wake(self, device_id: str, ts: float, rng: random.Random, day: int, k: int) -> float:
        spoken = self.assistant.wake.background_utterance(rng)
        before = self.assistant.home.copy()
        turn = self.assistant.handle(
            spoken,
            device_id=device_id,
            ts=ts,
            rng=rng,
            intended=False,
            turn_id=f"{self.household.id}-{day:03d}-{k:04d}-w",
        )
        # whatever it switched, nobody wanted: someone in the room puts it back, or not
        hands = react_by_hand(
            {},
            turn.changed,
            True,
            self.assistant.home,
            before,
            ts + speech_seconds(spoken),
            ts,
            rng,
            self.config.hands,
        )
        self._log(_with_hands(turn.event, hands.seen))
        record = TruthRecord(
            turn_id=turn.event.turn_id,
            spoken_text=spoken,
            intent=None,
            slots={},
            failure_point="false_wake",
            defect=True,
            goal_id=None,
            goal_success=None,
            rephrase_of=None,
            wrong_action=bool(turn.changed),
            household_id=self.household.id,
            user_id=None,
            day=day,
            goal_kind=None,
            source="background",
            strategy=None,
            attempt=1,
        ).to_dict()
        # Speech no one addressed to the assistant: a rewrite or fallback that acted on it
        # won nothing, and lost nothing that worked (its harm is the wrong action).
        _note_change(record, turn, "neutral", False)
        if hands.kinds:
            record["by_hand"] = hands.kinds
        self.truth.append(record)
        return max(
            hands.until, ts + speech_seconds(spoken) + (turn.event.response.duration_ms or 0) / 1000
        )

    def _teach_turn(
        self,
        text: str,
        user: User,
        device_id: str,
        ts: float,
        rng: random.Random,
        noise: float,
        turn_id: str,
        source: str,
        day: int,
        into: list[dict[str, Any]],
    ) -> tuple[Turn, float]:
        turn = self.assistant.handle(
            text,
            device_id=device_id,
            user_id=user.id if user.enrolled else None,
            ts=ts,
            rng=rng,
            noise=noise,
            turn_id=turn_id,
        )
        self._log(turn.event)
        into.append(_teach_record(self, turn, text, user, day, source))
        end = ts + speech_seconds(text) + (turn.event.response.duration_ms or 0) / 1000
        return turn, end

    def _answer(
        self,
        goal: Goal,
        user: User,
        question: str,
        ts: float,
        rng: random.Random,
        noise: float,
        goal_id: str,
        attempt: int,
        records: list[dict[str, Any]],
    ) -> tuple[float, bool]:
        """The user answers the assistant's teaching question (or lets it pass); whether
        a preference was stored."""
        text = answer_question(goal, user, self.assistant.home, question, rng)
        if text is None:
            return ts, False
        day = int((ts - START_TS) // DAY_S)
        ts += self.config.reactions.gap_s(rng)
        turn, ts = self._teach_turn(
            text,
            user,
            goal.device_id,
            ts,
            rng,
            noise,
            f"{goal_id}-{attempt}-t",
            "answer",
            day,
            records,
        )
        self.teaching["answers"] += 1
        stored = turn.taught is not None and turn.taught.stored is not None
        self.teaching["answers_stored"] += stored
        return ts + self.config.reactions.gap_s(rng), stored

    def _guided(self, user: User, device_id: str, ts: float, rng: random.Random, key: str) -> float:
        """ "Learn my preferences": the user asks, the assistant asks 2–4 questions, the
        user answers each from what they hold."""
        day = int((ts - START_TS) // DAY_S)
        noise = user.clarity * self.config.noise_scale
        self.teaching["guided"] += 0  # the key exists even when no question follows
        turn, ts = self._teach_turn(
            learn_request(rng),
            user,
            device_id,
            ts,
            rng,
            noise,
            f"{key}-g0",
            "guided",
            day,
            self.truth,
        )
        for n in range(1, 6):
            if turn.taught is None or turn.taught.kind != "question":
                break
            self.teaching["guided"] += 1
            asked = turn.taught.text
            answer = guided_answer(user, self.assistant.home, asked, rng)
            ts += self.config.reactions.gap_s(rng)
            turn, ts = self._teach_turn(
                answer,
                user,
                device_id,
                ts,
                rng,
                noise,
                f"{key}-g{n}",
                "guided",
                day,
                self.truth,
            )
            self.teaching["guided_stored"] += bool(turn.taught and turn.taught.stored)
        return ts + 60.0

    def _device_for(self, user: User, rng: random.Random) -> str:
        if rng.random() < 0.6:
            return user.home_device
        return rng.choice(self.household.devices).id

    def _goal(
        self,
        user: User,
        habit: tuple[str, str] | None,
        ts: float,
        rng: random.Random,
        day: int,
        k: int,
    ) -> float:
        device_id = self._device_for(user, rng)
        if habit is not None:
            # A routine about a thing happens where the thing is (the oven: in the kitchen).
            entity = self.assistant.home.entity(habit[1])
            near = [d.id for d in self.household.devices if entity and d.area == entity.area]
            device_id = near[0] if near else device_id
        goal = self.goals.sample(rng, user, device_id, ts, habit)
        if goal is None:
            return ts
        if self.teacher is not None and user.enrolled and user.id not in self.guided:
            guide = random.Random(f"{self.config.seed}-{user.id}-{day}-guided")
            if guide.random() < self.config.guided_rate:
                self.guided.add(user.id)
                ts = self._guided(
                    user, goal.device_id, ts, guide, f"{self.household.id}-{day:03d}-{k:04d}"
                )
        reactions = self.config.reactions
        goal_id = f"{self.household.id}-{day:03d}-{k:04d}"
        speaker = self.assistant.home.device(goal.device_id)
        on_display = goal.kind == "play_media" and speaker is not None and speaker.type == "display"
        text, source = self.phraser.first(goal, user, rng)
        meant = text  # the words that carry the request (a correction adds "no I said")
        noise = user.clarity * self.config.noise_scale
        records: list[dict[str, Any]] = []
        previous: str | None = None
        strategy: str | None = None
        served = False
        after_teaching = False
        for attempt in range(1, user.patience + 1):
            state = self.assistant.snapshot()
            known = (
                knows(self.teacher.store, user, goal)
                if self.teacher is not None and goal.personal
                else None
            )
            turn = self.assistant.handle(
                text,
                device_id=goal.device_id,
                user_id=user.id if user.enrolled else None,
                ts=ts,
                rng=rng,
                noise=noise,
                turn_id=f"{goal_id}-{attempt}",
            )
            outcome = Outcome(turn.nlu, turn.resolution, turn.action)
            verdict = judge(goal, outcome)
            served = verdict.success
            heard = turn.event.asr.text
            clean = functools.partial(
                self.assistant.preview, text, device_id=goal.device_id, ts=ts, state=state
            )
            point = failure_point(goal, text, heard, outcome, served, clean)
            rewrite_outcome = None
            before = True
            if turn.rewrite is not None or turn.fallback:
                # what hassil alone made of the recognised words, on the same turn
                original = self.assistant.preview(
                    heard, device_id=goal.device_id, ts=ts, state=state, fallback=False
                )
                before = judge(goal, original).success
                if not before and served:
                    rewrite_outcome = "won"
                elif before and (not served or verdict.wrong_action):
                    rewrite_outcome = "lost"
                else:
                    rewrite_outcome = "neutral"
            status = turn.event.response.status
            duration = turn.event.response.duration_ms or 0
            update: dict[str, Any] = {}
            response = turn.event.response
            if status == "success" and rng.random() < reactions.confirm_rate:
                text_asked = f"{response.text}. Did I get that right?"
                duration = len(text_asked.split()) * 330
                response = response.model_copy(update={"text": text_asked, "duration_ms": duration})
                update["response"] = response
                update["feedback"] = reactions.feedback(rng, served)
            barge = reactions.barge_in_ms(rng, duration, served, verdict.wrong_action, status)
            if barge is not None:
                update["barge_in_ms"] = barge
            hands = react_by_hand(
                goal.expected_changes,
                turn.changed,
                not served,
                self.assistant.home,
                state[0],
                ts + speech_seconds(text),
                ts,
                rng,
                self.config.hands,
            )
            event = _with_hands(
                turn.event.model_copy(update=update) if update else turn.event, hands.seen
            )
            self._log(event)
            record = TruthRecord(
                turn_id=event.turn_id,
                spoken_text=text,
                intent=goal.intent,
                slots=goal.slots,
                failure_point=point,
                defect=not served,
                goal_id=goal_id,
                goal_success=None,
                rephrase_of=previous,
                wrong_action=verdict.wrong_action,
                household_id=self.household.id,
                user_id=user.id,
                day=day,
                goal_kind=goal.kind,
                source=source if attempt == 1 else "rephrase",
                strategy=strategy,
                attempt=attempt,
            ).to_dict()
            record["heard"] = heard
            record["span"] = meant
            if self.changed and (goal.personal is not None or on_display):
                record["novel"] = True  # its meaning changed, unseen by what was learned
            if goal.personal:
                record["personal"] = goal.personal
                if known is not None:
                    record["taught_before"] = known
                if after_teaching:
                    record["after_teaching"] = True
            _note_change(record, turn, rewrite_outcome, before)
            _note_choice(record, turn, goal, served, verdict.wrong_action, self.assistant, state)
            if hands.kinds:
                record["by_hand"] = hands.kinds
            records.append(record)
            previous = event.turn_id
            ts += speech_seconds(text) + (barge if barge is not None else duration) / 1000
            ts = max(ts, hands.until)
            if barge is not None and self.teacher is not None:
                self.teacher.note_barge_in(event.user_id)
            taught = False
            if turn.question is not None:
                ts, taught = self._answer(
                    goal, user, turn.question, ts, rng, noise, goal_id, attempt, records
                )
            after_teaching = taught
            if served or hands.done_by_hand:
                break
            if verdict.wrong_action and rng.random() < reactions.give_up_after_wrong:
                break
            if attempt == user.patience:
                break
            strategy = choose_strategy(goal, status, response.text, rng)
            if taught:
                strategy = "repeat"  # having taught it, the user says it their way again
            if strategy == "correct":
                text, meant = self.phraser.correction(goal, meant, rng)
            else:
                text = meant = self.phraser.rephrase(goal, meant, strategy, rng)
            if strategy == "repeat":
                noise *= 0.7  # said again, slower and louder
            ts += reactions.gap_s(rng)
        for record in records:
            if not record.get("teach"):
                record["goal_success"] = served
        self.truth.extend(records)
        return ts


def _teach_record(
    sim: _HouseholdSim, turn: Turn, spoken: str, user: User, day: int, source: str
) -> dict[str, Any]:
    """The truth of a turn spoken to the teacher. An answer the teacher did not take as
    one went to the assistant as a request: a defect, a wrong action if it acted."""
    taken = turn.taught is not None
    record = TruthRecord(
        turn_id=turn.event.turn_id,
        spoken_text=spoken,
        intent=None,
        slots={},
        failure_point="none" if taken else "nlu",
        defect=not taken,
        goal_id=None,
        goal_success=None,
        rephrase_of=None,
        wrong_action=bool(turn.changed),
        household_id=sim.household.id,
        user_id=user.id,
        day=day,
        goal_kind=None,
        source=source,
        strategy=None,
        attempt=1,
    ).to_dict()
    record["teach"] = turn.taught.kind if turn.taught else "not_taken"
    if turn.taught and turn.taught.stored is not None:
        record["taught_kind"] = turn.taught.stored.kind
    record["heard"] = turn.event.asr.text
    return record


def _run_household(
    args: tuple[Household, SimConfig, SupportsRewrite | None, str | None],
) -> HouseholdRun:
    household, config, rewriter, fallback = args
    real = (
        RealPhrasings.load(config.real_data) if config.sources[2] > 0 else RealPhrasings({}, "off")
    )
    sim = _HouseholdSim(household, config, Catalogue.default(), real, rewriter, fallback)
    return sim.run()


class Simulator:
    """Simulates ``config.users`` users over ``config.days`` days.

    >>> sim = Simulator(SimConfig(users=2, days=1, seed=3))
    >>> runs = list(sim.runs())
    >>> sum(len(r.events) for r in runs) == sum(len(r.truth) for r in runs) > 0
    True
    """

    def __init__(
        self,
        config: SimConfig,
        rewriter: SupportsRewrite | None = None,
        *,
        fallback: str | None = None,
    ) -> None:
        """``fallback``: "gazetteer" hands what hassil cannot match to gazetteer-matcher."""
        self.config = config
        self.rewriter = rewriter
        self.fallback = fallback

    @property
    def real_source(self) -> str:
        """Where real phrasings come from (or why there are none)."""
        if self.config.sources[2] <= 0:
            return "off"
        return RealPhrasings.load(self.config.real_data).source

    def runs(self, progress: Callable[[int, int], None] | None = None) -> Iterator[HouseholdRun]:
        """Household runs in population order; ``progress(done, total)`` after each."""
        households = population(self.config)
        jobs = [(h, self.config, self.rewriter, self.fallback) for h in households]
        total = len(jobs)
        if self.config.workers == 1 or total == 1:
            for done, job in enumerate(jobs, 1):
                yield _run_household(job)
                if progress:
                    progress(done, total)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(self.config.workers) as pool:
            for done, run in enumerate(pool.imap(_run_household, jobs), 1):
                yield run
                if progress:
                    progress(done, total)

    def write(
        self,
        log_path: Path,
        truth_path: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Simulate; write the turn log (JSONL) and the ground truth (JSONL); summarise."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        points: Counter[str] = Counter()
        turns = defects = goals = goals_ok = wrong = 0
        with (
            log_path.open("w", encoding="utf-8") as log_file,
            truth_path.open("w", encoding="utf-8") as truth_file,
        ):
            for run in self.runs(progress):
                log_file.writelines(line + "\n" for line in run.events)
                for record in run.truth:
                    truth_file.write(json.dumps(record, separators=(",", ":")) + "\n")
                    points[record["failure_point"]] += 1
                    defects += record["defect"]
                    wrong += record["wrong_action"]
                    if record["goal_id"] and record["attempt"] == 1:
                        goals += 1
                        goals_ok += bool(record["goal_success"])
                turns += len(run.events)
        return {
            "turns": turns,
            "goals": goals,
            "defect_rate": round(defects / max(turns, 1), 4),
            "goal_success_rate": round(goals_ok / max(goals, 1), 4),
            "wrong_action_rate": round(wrong / max(turns, 1), 4),
            "failure_points": {p: points[p] for p in sorted(points)},
            "real_phrasings": self.real_source,
        }


def _note_choice(
    record: dict[str, Any],
    turn: Turn,
    goal: Goal,
    served: bool,
    wrong: bool,
    assistant: Assistant,
    state: tuple[Any, Any],
) -> None:
    """Where the rewriter chose among close interpretations: whether it explored, and
    what serving the option it preferred would have done on the same turn (``won``: the
    explored one served the goal and the preferred one would not have; ``lost``: the
    reverse, or the explored one did something unwanted the preferred one would not)."""
    choice = turn.event.choice
    if choice is None:
        return
    record["choice"] = True
    if choice.chosen == choice.preferred:
        return  # served what the policy preferred (its own pick, or the rewriter's): no explore
    record["explored"] = True
    other = assistant.preview(
        choice.options[choice.preferred].text,
        device_id=goal.device_id,
        ts=turn.event.ts,
        state=state,
        fallback=False,
    )
    preferred = judge(goal, other)
    if served and not preferred.success:
        record["explore_outcome"] = "won"
    elif (preferred.success and not served) or (wrong and not preferred.wrong_action):
        record["explore_outcome"] = "lost"
    else:
        record["explore_outcome"] = "neutral"


def _with_hands(event: TurnEvent, seen: list[dict[str, Any]] | None) -> TurnEvent:
    """The event with what the watcher saw done by hand (None: nothing was watched)."""
    if seen is None:
        return event
    return TurnEvent.model_validate({**event.to_dict(), "after_action": seen})


def _note_change(record: dict[str, Any], turn: Turn, outcome: str | None, before: bool) -> None:
    """What a rewrite or the fallback did on this turn, in its truth record."""
    if turn.fallback:
        record["fallback_outcome"] = outcome
    if turn.rewrite is not None:
        record["rewrite_outcome"] = outcome
        record["rewrite_from"] = turn.rewrite.source
        record["rewrite_to"] = turn.rewrite.target
        record["rewrite_original_ok"] = before
        record["rewrite_layer"] = turn.rewrite.layer
        record["rewrite_method"] = turn.rewrite.method
        record["rewrite_support"] = turn.rewrite.support
        record["rewrite_score"] = turn.rewrite.score
