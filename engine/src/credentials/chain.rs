//! The default chain of sources, in the AWS CLI's order.
