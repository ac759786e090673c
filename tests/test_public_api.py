import selflearn


def test_all_is_sorted_and_complete() -> None:
    assert selflearn.__all__ == sorted(selflearn.__all__, key=lambda n: (not n.isupper(), n))
    public = {n for n in dir(selflearn) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(selflearn.__all__)
    for name in selflearn.__all__:
        assert hasattr(selflearn, name)
