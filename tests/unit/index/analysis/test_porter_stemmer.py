"""The Porter stemmer gives Lucene's PorterStemmer results, departures from the paper included."""

import pytest

from index.analysis.porter import PorterStemmer, porter_stem


@pytest.mark.parametrize("word, stem", [
    ("caresses", "caress"), ("ponies", "poni"), ("ties", "ti"), ("caress", "caress"), ("cats", "cat"),
    ("feed", "feed"), ("agreed", "agre"), ("plastered", "plaster"), ("bled", "bled"), ("motoring", "motor"),
    ("sing", "sing"), ("conflated", "conflat"), ("troubled", "troubl"), ("sized", "size"), ("hopping", "hop"),
    ("falling", "fall"), ("hissing", "hiss"), ("fizzed", "fizz"), ("filing", "file"), ("happy", "happi"),
    ("relational", "relat"), ("conditional", "condit"), ("digitizer", "digit"), ("operator", "oper"),
    ("generalization", "gener"), ("hopefulness", "hope"), ("sensibiliti", "sensibl"), ("electrical", "electr"),
    ("goodness", "good"), ("adjustment", "adjust"), ("adoption", "adopt"), ("effective", "effect"),
    ("controll", "control"), ("roll", "roll"), ("running", "run"), ("quickly", "quickli"), ("dogs", "dog"),
])
def test_the_classic_porter_vocabulary_stems_as_lucene_stems_it(word, stem):
    assert porter_stem(word) == stem


@pytest.mark.parametrize("word, stem", [
    ("possibly", "possibl"),      # bli → ble (the reference code's departure; Snowball: possibli)
    ("technology", "technolog"),  # logi → log (Snowball: technologi)
    ("specced", "spec"),          # any doubled consonant is undoubled (Snowball: specc)
])
def test_lucene_departures_from_the_published_algorithm(word, stem):
    assert porter_stem(word) == stem


def test_words_of_one_or_two_letters_are_left_alone():
    assert [porter_stem(word) for word in ("a", "is", "as", "ys")] == ["a", "is", "as", "ys"]


def test_the_memoised_stemmer_gives_the_same_stems_even_when_its_cache_overflows():
    stemmer = PorterStemmer(cache_size=3)
    words = ["running", "dogs", "possibly", "running", "cats", "happy", "dogs", "technology"]
    assert stemmer.stem_words(words) == [porter_stem(word) for word in words]
    assert [stemmer.stem(word) for word in words] == [porter_stem(word) for word in words]
