import pytest

from training import model_card


def test_the_committed_card_is_what_the_evaluation_files_say():
    model_card.main(["--check"])  # exits if a figure was typed by hand or an evaluation file changed


def test_only_the_generated_part_is_replaced_and_a_card_without_it_is_refused(tmp_path):
    card, readme = tmp_path / "CARD.md", tmp_path / "README.md"
    card.write_text(f"# Card\n\nabove\n{model_card.BEGIN}\nold table\n{model_card.END}\nbelow\n")
    readme.write_text(f"# Readme\n{model_card.BEGIN}\n{model_card.END}\n")
    pages = ["--card", str(card), "--readme", str(readme)]
    text = model_card.main(pages)
    assert "| `roadseg` (default) | **3.0** |" in readme.read_text()
    assert text.startswith("# Card\n\nabove\n") and text.endswith(f"{model_card.END}\nbelow\n")
    assert "old table" not in text and "| **roadseg-rt 2.0 (default)** |" in text
    with pytest.raises(SystemExit, match="out of date"):
        card.write_text(text.replace("| **roadseg-rt 2.0 (default)** |", "| roadseg-rt 2.0 |"))
        model_card.main([*pages, "--check"])
    card.write_text("# Card without tables\n")
    with pytest.raises(SystemExit, match="no generated part"):
        model_card.main(pages)


def test_recall_and_precision_ignore_void_ground_truth_but_count_void_answers():
    confusion = [[0] * 8 for _ in range(8)]
    confusion[3][3] = 30  # object found
    confusion[3][0] = 10  # object answered void: missed
    confusion[2][3] = 60  # construction answered object
    confusion[0][3] = 100  # void ground truth answered object: ignored
    recall, precision = model_card.recall_precision(confusion)["object"]
    assert recall == pytest.approx(30 / 40) and precision == pytest.approx(30 / 90)
