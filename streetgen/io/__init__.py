"""Input and output of pictures: label maps (`labels`) and photos, animations and GIFs (`photos`)."""
