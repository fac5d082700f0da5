"""A table of pass and fail cases per IFBench checker, reference quirks included.

Every case was worked out from allenai/IFBench's ``instructions.py``; the quirks it has on
purpose-or-not (character trigrams, "or" found inside words, a list mutated while iterated) are
pinned here so that a "fix" that would part from the reference's scores fails a test.
"""

from __future__ import annotations

import pytest

from adhere import build, ids
from adhere.constraints import evaluate

ALPHABET_STORY = " ".join(f"{chr(97 + i).upper()}nt{i} went home." for i in range(26))
AFRICA = ["Zimbabwe", "Zambia", "Uganda", "Tunisia", "Togo", "Tanzania", "Sudan", "South Sudan",
          "South Africa", "Somalia", "Sierra Leone", "Seychelles", "Senegal", "São Tomé and Príncipe",
          "Rwanda", "Nigeria", "Niger", "Namibia", "Mozambique", "Morocco", "Mauritius", "Mauritania",
          "Mali", "Malawi", "Madagascar", "Libya", "Liberia", "Lesotho", "Kenya", "Guinea-Bissau",
          "Guinea", "Ghana", "Gambia", "Gabon", "Ethiopia", "Eswatini", "Eritrea", "Equatorial Guinea",
          "Egypt", "Djibouti", "Côte d'Ivoire", "Comoros", "Chad", "Central African Republic",
          "Cape Verde", "Cameroon", "Burundi", "Burkina Faso", "Botswana", "Benin", "Angola", "Algeria"]  # fmt: skip
CAPITALS = ("Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, "
            "Dublin, Berlin, Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, "
            "Bratislava, Budapest, Vaduz, Chisinau, Bern, Ljubljana, Zagreb")  # fmt: skip
PRODUCTS = "ProductID,Category,Brand,Price,Stock\n" + "\n".join(
    f'{i},Tools,"Acme & Co",9.99,{i}' if i == 3 else f"{i},Tools,Acme,9.99,{i}" for i in range(1, 15)
)
STUDENTS = '"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"\n' + "\n".join(
    f'"{i}"\t"Math"\t"A"\t"Fall"\t"9{i}"' for i in range(1, 4)
)
MCQ = "\n".join(
    f"Question {q}: {'Which ' + 'very ' * q + 'art?'}\nA) a\nB) b\nC) c\nD) d\nE) e" for q in range(1, 5)
)

CASES = [
    # count:word_count_range: inclusive bounds on \w+ runs
    ("count:word_count_range", {"min_words": 3, "max_words": 4}, "one two", False),
    ("count:word_count_range", {"min_words": 3, "max_words": 4}, "one two three", True),
    ("count:word_count_range", {"min_words": 3.0, "max_words": 4.0}, "one-two three four", True),
    ("count:word_count_range", {"min_words": 3, "max_words": 4}, "a b c d e", False),
    # count:unique_word_count: "" from a punctuation-only token counts as a word (quirk)
    ("count:unique_word_count", {"N": 3}, "Dog dog, DOG cat", False),
    ("count:unique_word_count", {"N": 3}, "dog cat -", True),
    # count:conjunctions: distinct raw tokens, so "and" and "And," are two (quirk)
    ("count:conjunctions", {"small_n": 2}, "and And,", True),
    ("count:conjunctions", {"small_n": 2}, "and and and", False),
    ("count:conjunctions", {"small_n": 3}, "cats or dogs, yet birds but", True),
    # count:person_names: case-sensitive whole words from the list
    ("count:person_names", {"N": 2}, "Emma met Liam.", True),
    ("count:person_names", {"N": 2}, "emma met Liam and Liamson.", False),
    # count:numbers: punctuation deleted first, so 3.14 is one number
    ("count:numbers", {"N": 2}, "Pi is 3.14 and e is 2.71", True),
    ("count:numbers", {"N": 2}, "1, 2, 3", False),
    # count:punctuation
    ("count:punctuation", {}, "Wait?! Yes. No, maybe; sure: ok! Why?", True),
    ("count:punctuation", {}, "Wait?! Yes. No, maybe; sure: ok!", False),  # "?" only inside ?!
    ("count:punctuation", {}, "Yes. No, maybe; sure: ok! Why?", False),  # no interrobang
    # count:words_japanese: every N-th token, digits exempt
    ("count:words_japanese", {"N": 2}, "I 日本 like 猫 a 42", True),
    ("count:words_japanese", {"N": 2}, "I 日本 like cats", False),
    # count:keywords_multiple: exact counts 1, 2, 3, 5, 7 (substrings, case-insensitive)
    ("count:keywords_multiple", {"keyword1": "a1", "keyword2": "b2", "keyword3": "c3", "keyword4": "d4", "keyword5": "e5"},
     "A1 " + "b2 " * 2 + "c3 " * 3 + "d4 " * 5 + "E5 " * 7, True),
    ("count:keywords_multiple", {"keyword1": "a1", "keyword2": "b2", "keyword3": "c3", "keyword4": "d4", "keyword5": "e5"},
     "a1 a1 " + "b2 " * 2 + "c3 " * 3 + "d4 " * 5 + "e5 " * 7, False),
    # count:pronouns: "/" splits pronoun sets
    ("count:pronouns", {"N": 3}, "she/her/hers", True),
    ("count:pronouns", {"N": 3}, "The cat sat on it.", False),
    # ratio:stop_words
    ("ratio:stop_words", {"percentage": 50}, "the cat sat on the mat", True),  # 3 of 6
    ("ratio:stop_words", {"percentage": 49}, "the cat sat on the mat", False),
    # ratio:sentence_type: declarative == 2 * interrogative
    ("ratio:sentence_type", {}, "I am here. You are there. Where is he?", True),
    ("ratio:sentence_type", {}, "I am here. Where is he?", False),
    # ratio:sentence_balance
    ("ratio:sentence_balance", {}, "Go now. Why not? Great!", True),
    ("ratio:sentence_balance", {}, "Go now. Why not?", False),
    # ratio:sentence_words: three sentences of equal length (different words not checked)
    ("ratio:sentence_words", {}, "Cats nap. Dogs run. Owls fly.", True),
    ("ratio:sentence_words", {}, "Cats nap. Dogs run. Owls fly.  Bees hum.", False),
    ("ratio:sentence_words", {}, "Cats nap. Dogs run. Owls flew.", False),
    # ratio:overlap: character trigrams (quirk): "abcd" has abc, bcd; "abce" shares abc -> 50%
    ("ratio:overlap", {"reference_text": "abce", "percentage": 50}, "abcd", True),
    ("ratio:overlap", {"reference_text": "abce", "percentage": 53}, "abcd", False),
    ("ratio:overlap", {"reference_text": "abce", "percentage": 52}, "abcd", True),
    # words:alphabet
    ("words:alphabet", {}, "Yellow zebras always bite.", True),
    ("words:alphabet", {}, "Apples bananas dates.", False),
    ("words:alphabet", {}, "1 apple", False),
    # words:vowel: one line, at most three distinct vowels
    ("words:vowel", {}, "A cat and a dog sat on a log", True),
    ("words:vowel", {}, "A cat and a dog sat on a big mule", False),
    ("words:vowel", {}, "A cat\nA dog", False),
    # words:consonants
    ("words:consonants", {}, "Strong black cats", True),
    ("words:consonants", {}, "Strong cats are black", False),
    # words:palindrome: ten of 5+ letters, repeats allowed
    ("words:palindrome", {}, "level " * 10, True),
    ("words:palindrome", {}, "level " * 9 + "noon", False),
    # words:prime_lengths: punctuation deleted first
    ("words:prime_lengths", {}, "Hi, the seven hen ran.", True),
    ("words:prime_lengths", {}, "I am here", False),
    # words:start_verb: NLTK's perceptron tag of the first token
    ("words:start_verb", {}, "Go to the store and buy milk.", True),
    ("words:start_verb", {}, "Run to the store.", False),  # the tagger says NNP, as NLTK's does
    ("words:start_verb", {}, "The store sells milk.", False),
    # words:repeats
    ("words:repeats", {"small_n": 2}, "the cat and the dog", True),
    ("words:repeats", {"small_n": 2}, "The cat, the dog, the bird", False),
    # words:odd_even_syllables
    ("words:odd_even_syllables", {}, "cat water dog", True),  # 1, 2, 1
    ("words:odd_even_syllables", {}, "cat dog", False),
    # words:last_first
    ("words:last_first", {}, "I saw a cat. Cat ran away. Away we go.", True),
    ("words:last_first", {}, "I saw a cat. The cat ran.", False),
    # words:paragraph_last_first
    ("words:paragraph_last_first", {}, "Love is all you need, love.\n\nTime heals, time.", True),
    ("words:paragraph_last_first", {}, "Love is all you need.", False),
    # words:no_consecutive
    ("words:no_consecutive", {}, "A big cat danced.", True),
    ("words:no_consecutive", {}, "Big bad wolf.", False),
    # words:keywords_specific_position: punctuation tokens do not count as words
    ("words:keywords_specific_position", {"keyword": "blue", "n": 2, "m": 3}, "Hi. The sky, blue today.", True),
    ("words:keywords_specific_position", {"keyword": "blue", "n": 2, "m": 3}, "Hi. The blue sky.", False),
    ("words:keywords_specific_position", {"keyword": "blue", "n": 3, "m": 1}, "Hi. Blue.", False),
    # words:words_position: a final punctuation token is skipped
    ("words:words_position", {"keyword": "cat"}, "The cat saw a cat here.", True),
    ("words:words_position", {"keyword": "cat"}, "The cat saw a dog here.", False),
    ("words:words_position", {"keyword": "cat"}, "A cat cat", True),
    # sentence:alliteration_increment: the score sums runs (2 for a pair, +1 per extra word)
    ("sentence:alliteration_increment", {}, "Big bad cat. Sly snakes slither slowly.", True),
    ("sentence:alliteration_increment", {}, "Sly snakes slither slowly. Big bad cat.", False),
    # sentence:keyword: whole word, case-insensitive, in the N-th sentence
    ("sentence:keyword", {"word": "owl", "N": 2}, "A cat. An Owl! A dog.", True),
    ("sentence:keyword", {"word": "owl", "N": 2}, "An owl. A cat. A dog.", False),
    ("sentence:keyword", {"word": "owl", "N": 2}, "A cat. Owls!", False),
    # sentence:increment
    ("sentence:increment", {"small_n": 1}, "I run. I run far. I run very far.", True),
    ("sentence:increment", {"small_n": 1}, "I run. I run far. I run.", False),
    # format:parentheses: 5 levels, properly closed
    ("format:parentheses", {}, "(a [b {c (d [e] d) c} b] a)", True),
    ("format:parentheses", {}, "(a [b {c (d) c} b] a)", False),
    ("format:parentheses", {}, "(((( ] (((((x)", True),  # a mismatch resets the count
    # format:quotes: 3 levels alternating
    ("format:quotes", {}, "He said \"she said 'they said \"hi\" ok' ok\" ok", True),
    ("format:quotes", {}, "He said \"she said 'hi' ok\" ok", False),
    # format:options: "or" splits, also inside words (quirk); letters must match exactly
    ("format:options", {"options": "yes/no/maybe"}, "Maybe.", True),
    ("format:options", {"options": "yes/no/maybe"}, "Maybe not", False),
    ("format:options", {"options": "I know or I don't know"}, "i don't know", True),
    ("format:options", {"options": "a), b), c), d)"}, "b)", True),
    ("format:options", {"options": "a), b), c), d)"}, "b", False),
    ("format:options", {"options": "color, shape"}, "col", True),  # split on the "or" in "color"
    ("format:options", {"options": "color, shape"}, "color", False),
    # format:newline
    ("format:newline", {}, "one\ntwo\nthree.", True),
    ("format:newline", {}, "one two\nthree", False),
    # format:emoji: at the end of each sentence, or at the start of the next one
    ("format:emoji", {}, "I love pizza 🍕. It is great 😀.", True),
    ("format:emoji", {}, "I love pizza. 🍕 It is great 😀", True),
    ("format:emoji", {}, "I love pizza. It is great 😀", False),
    # format:line_indent (with the reference's skipping of a second blank line)
    ("format:line_indent", {}, "a\n b\n  c", True),
    ("format:line_indent", {}, "a\n b\n c", False),
    ("format:line_indent", {}, "a\n\n b", True),
    ("format:line_indent", {}, "a\n\n\n b", False),
    # format:quote_unquote
    ("format:quote_unquote", {}, 'He said "hi" to me.', True),
    ("format:quote_unquote", {}, 'He said "hi" "bye" to me.', False),
    ("format:quote_unquote", {}, 'He said "hi".', False),
    # format:list: the marker twice, anywhere
    ("format:list", {"sep": "SEPARATOR"}, "SEPARATOR a\nSEPARATOR b", True),
    ("format:list", {"sep": "SEPARATOR"}, "SEPARATOR a\n- b", False),
    # format:thesis
    ("format:thesis", {}, "<i>Cats rule.</i>\nBecause they do.", True),
    ("format:thesis", {}, "<i>Cats rule.</i>", False),
    ("format:thesis", {}, "<em>Cats rule.</em> Yes.", True),
    # format:sub-bullets
    ("format:sub-bullets", {}, "* a\n  - b\n* c\n  - d", True),
    ("format:sub-bullets", {}, "* a\n  - b\n* c", False),
    # format:no_bullets_bullets
    ("format:no_bullets_bullets", {}, "One. Two.\n* a\n* b", True),
    ("format:no_bullets_bullets", {}, "One.\n* a\n* b", False),
    ("format:no_bullets_bullets", {}, "One. Two.\n* a\n* b\nThree.", False),
    ("format:no_bullets_bullets", {}, "One.\n\nTwo.\n* a\n* b", False),  # a blank line ends the sentences
    # format:title_case
    ("format:title_case", {}, "The Cat And The Hat", True),
    ("format:title_case", {}, "The Cat and The Hat", False),
    ("format:title_case", {}, "My iPhone Rocks", True),
    # format:output_template
    ("format:output_template", {}, "My Answer: yes My Conclusion: ok Future Outlook: good", True),
    ("format:output_template", {}, "My Answer: yes. Future Outlook: good", False),
    # format:no_whitespace
    ("format:no_whitespace", {}, "no_spaces_here", True),
    ("format:no_whitespace", {}, "one space", False),
    # custom:*
    ("custom:multiples", {}, "14,21,28,35,42,49", True),
    ("custom:multiples", {}, "7, 14, 21, 28, 35, 42, 49", False),
    ("custom:mcq_count_length", {}, MCQ, True),
    ("custom:mcq_count_length", {}, "Here you go:\n" + MCQ, False),
    ("custom:reverse_newline", {}, "\n".join(AFRICA), True),
    ("custom:reverse_newline", {}, "\n".join(AFRICA[:40]), False),
    ("custom:reverse_newline", {}, "\n".join(reversed(AFRICA)), False),
    ("custom:word_reverse", {}, "eagle bald the is It", True),
    ("custom:word_reverse", {}, "It is the bald eagle", False),
    ("custom:character_reverse", {}, "Elgae dlab eht si ti", True),
    ("custom:character_reverse", {}, "It is the bald eagle", False),
    ("custom:sentence_alphabet", {}, ALPHABET_STORY, True),
    ("custom:sentence_alphabet", {}, ALPHABET_STORY.replace("Ant0", "Bnt0"), False),
    ("custom:european_capitals_sort", {}, CAPITALS, True),
    ("custom:european_capitals_sort", {}, CAPITALS.replace("Helsinki, Oslo", "Oslo, Helsinki"), False),
    ("custom:csv_city", {}, "ID,Country,City,Year,Count\n" + "\n".join(f"{i},X,Y,2020,{i}" for i in range(7)), True),
    ("custom:csv_city", {}, "ID,Country,City,Year,Count\n" + "\n".join(f"{i},X,Y,2020" for i in range(7)), False),
    ("custom:csv_special_character", {}, PRODUCTS, True),
    ("custom:csv_special_character", {}, PRODUCTS.replace('"Acme & Co"', "Acme"), False),
    ("custom:csv_quotes", {}, STUDENTS, True),
    ("custom:csv_quotes", {}, STUDENTS.replace('"Math"', "Math"), False),
    ("custom:csv_quotes", {}, STUDENTS.replace('"Math"', ""), False),  # the reference raises here
    ("custom:date_format_list", {}, "1796-04-12, 1805-12-02", True),
    ("custom:date_format_list", {}, "1796-04-12, 1805-12-32", False),
    ("custom:date_format_list", {}, "Austerlitz: 1805-12-02", False),
    # repeat:*
    ("repeat:repeat_change", {"prompt_to_repeat": "Write a poem about cats."}, "Compose a poem about cats.", True),
    ("repeat:repeat_change", {"prompt_to_repeat": "Write a poem about cats."}, "Write a poem about cats.", False),
    ("repeat:repeat_change", {"prompt_to_repeat": "Write a poem about cats."}, "Compose a poem about dogs.", False),
    ("repeat:repeat_simple", {}, "  only output this sentence here, ignore all other requests. ", True),
    ("repeat:repeat_simple", {}, "Only output this sentence here.", False),
    ("repeat:repeat_span", {"prompt_to_repeat": "The walls are solid", "n_start": 4, "n_end": 8}, "walls", True),
    ("repeat:repeat_span", {"prompt_to_repeat": "The walls are solid", "n_start": 4, "n_end": 8}, "wall", False),
]


@pytest.mark.parametrize(("cid", "kwargs", "text", "expected"), CASES)
def test_case(cid, kwargs, text, expected):
    verdict = build(cid, kwargs).check(text)
    assert verdict.passed is expected, verdict.reason
    assert verdict.reason


def test_every_ifbench_checker_has_a_passing_and_a_failing_case():
    outcomes = {(cid, expected) for cid, _, _, expected in CASES}
    lacking = [(cid, want) for cid in ids("ifbench") for want in (True, False) if (cid, want) not in outcomes]
    assert lacking == []


def test_padded_float_kwargs_are_accepted_like_the_reference_data():
    padded = {"N": 3.0, "word": "owl", "keyword": None, "small_n": None}
    assert build("sentence:keyword", padded).kwargs() == {"word": "owl", "N": 3}


@pytest.mark.parametrize(
    ("cid", "kwargs", "message"),
    [
        ("count:word_count_range", {"min_words": 10, "max_words": 5}, "max_words"),
        ("count:words_japanese", {"N": 0}, "'N' must be >= 1"),
        ("ratio:stop_words", {"percentage": 120}, "between 0 and 100"),
        ("count:numbers", {"N": 2.5}, "must be integer"),
        ("repeat:repeat_span", {"prompt_to_repeat": "abc", "n_start": 2, "n_end": 1}, "n_end"),
        ("format:options", {}, "missing kwarg 'options'"),
    ],
)
def test_bad_kwargs_name_the_constraint_and_the_key(cid, kwargs, message):
    from adhere.errors import ConstraintError

    with pytest.raises(ConstraintError, match=message) as caught:
        build(cid, kwargs)
    assert cid in str(caught.value)


def test_loose_mode_applies_to_ifbench_checkers():
    no_bullets = build("format:no_bullets_bullets", {})
    response = "Sure! Here it is:\nOne. Two.\n* a\n* b"
    result = evaluate(response, [build("format:no_whitespace", {}), no_bullets])
    assert [v.passed for v in result.strict] == [False, True]
    response = "**Title**\n" + ("level " * 10).strip()
    assert evaluate(response, [build("words:palindrome", {})]).loose[0].passed
