//! GetObjectTagging's answer.

use super::XmlError;
use super::tree::parse_root;

/// An object's tags (`Tagging`), in the store's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tagging {
    /// (key, value) pairs.
    pub tags: Vec<(String, String)>,
}

impl Tagging {
    /// Parses a GetObjectTagging answer.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "Tagging")?;
        let tags = match root.child("TagSet") {
            Some(set) => set
                .all("Tag")
                .map(|tag| Ok((tag.required("Key")?, tag.text("Value").unwrap_or_default())))
                .collect::<Result<_, XmlError>>()?,
            None => Vec::new(),
        };
        Ok(Self { tags })
    }

    /// The tags as the `x-amz-tagging` header carries them: a URL query, `K=V&K2=V2`.
    pub fn to_query(&self) -> String {
        let mut query = String::new();
        for (key, value) in &self.tags {
            if !query.is_empty() {
                query.push('&');
            }
            crate::sign::encode::encode_query_component(key, &mut query);
            query.push('=');
            crate::sign::encode::encode_query_component(value, &mut query);
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_in_order_and_written_as_an_encoded_query() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>
<Tag><Key>project</Key><Value>atlas</Value></Tag>
<Tag><Key>owner name</Key><Value>a&amp;b=c</Value></Tag>
<Tag><Key>empty</Key><Value></Value></Tag>
</TagSet></Tagging>"#;
        let tagging = Tagging::parse(body).unwrap();
        assert_eq!(
            tagging.tags,
            [
                ("project".into(), "atlas".into()),
                ("owner name".into(), "a&b=c".into()),
                ("empty".into(), String::new()),
            ]
        );
        assert_eq!(
            tagging.to_query(),
            "project=atlas&owner%20name=a%26b%3Dc&empty="
        );
        let none = Tagging::parse(b"<Tagging><TagSet/></Tagging>").unwrap();
        assert_eq!(none.to_query(), "");
    }
}
