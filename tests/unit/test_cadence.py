from agent.cadence import Cadence


def test_one_in_n_and_after_quiet():
    cadence = Cadence(every_n=3, quiet_seconds=60)
    t = 1000.0
    assert cadence.consider(1, t)[0] is True, "first message after silence"
    results = [cadence.consider(1, t + i)[0] for i in range(1, 7)]
    assert results == [False, False, True, False, False, True]
    assert cadence.consider(1, t + 200)[0] is True, "a message after 60 s of quiet"
    assert cadence.consider(2, t + 201)[0] is True, "channels keep their own pace"
    ok, why = cadence.consider(1, t + 202)
    assert not ok and "1 of 3" in why
