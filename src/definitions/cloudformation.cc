// placeholder until the CloudFormation reader lands
