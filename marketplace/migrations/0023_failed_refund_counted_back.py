"""A refund made in Stripe's dashboard that Stripe failed later is counted back: a
``GivenBackInPart`` row of a negative ``amount`` (source ``refund_failed``, once per refund),
keyed with ``failed_so_far`` (all the order's failed refunds counted back then), as what was
given back so far goes down by it. Rows written so far had no failure: 0."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0022_given_back_in_part"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="givenbackinpart",
            name="given_back_in_part_once",
        ),
        migrations.AddField(
            model_name="givenbackinpart",
            name="failed_so_far",
            field=models.PositiveBigIntegerField(db_default=0, default=0, help_text="minor units"),
        ),
        migrations.AlterField(
            model_name="givenbackinpart",
            name="amount",
            field=models.BigIntegerField(help_text="minor units of the order's currency"),
        ),
        migrations.AlterField(
            model_name="givenbackinpart",
            name="source",
            field=models.CharField(
                choices=[
                    ("refund", "refunded in Stripe"),
                    ("dispute", "dispute lost"),
                    ("refund_failed", "refund failed in Stripe"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="givenbackinpart",
            constraint=models.UniqueConstraint(
                fields=("order", "given_back_so_far", "failed_so_far"),
                name="given_back_in_part_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="givenbackinpart",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source", "refund_failed")),
                fields=("order", "reference"),
                name="failed_refund_counted_back_once",
            ),
        ),
    ]
