DROP TABLE article_tags;
DROP TABLE citations;
DROP TABLE key_points;
DROP TABLE key_point_lists;
DROP TABLE articles;
